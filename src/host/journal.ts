import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { kindOfType } from './catalogue.js';
import { chinaTime } from './clock.js';

/** A transaction record as support reads it: never its PAN, only the masked form. */
export interface JournalLine {
  /** when the host recorded it, ISO 8601 in UTC */
  readonly at: string;
  /** the same moment in China time, as the receipt prints it: `YYYY-MM-DD HH:MM:SS` (+08:00) */
  readonly local_time: string;
  readonly mid: string;
  readonly tid: string;
  readonly batch: number;
  readonly stan: string;
  readonly kind: string;
  readonly amount_fen: number;
  readonly pan_masked: string | null;
  readonly response_code: string;
  readonly status: string;
  readonly rrn: string;
  readonly auth_code: string | null;
  readonly password_free: boolean;
}

export interface JournalFilter {
  readonly tid?: string;
  readonly mid?: string;
  readonly rrn?: string;
  /** 1 to 1000 */
  readonly limit: number;
}

export const JOURNAL_LIMIT_MAX = 1_000;

/**
 * The host's latest transaction records, newest first: every request that reached §7 step 9,
 * declines included, and reversal tombstones. For support to answer "did it go through?" (a refund
 * whose result the terminal never learnt, §8.1).
 */
export async function journal(db: Kysely<Database>, filter: JournalFilter): Promise<JournalLine[]> {
  if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > JOURNAL_LIMIT_MAX) throw new RangeError(`a journal holds 1 to ${JOURNAL_LIMIT_MAX} lines`);
  let q = db
    .selectFrom('transactions')
    .innerJoin('terminals', 'terminals.id', 'transactions.terminal_id')
    .innerJoin('merchants', 'merchants.id', 'transactions.merchant_id')
    .select(['transactions.created_at', 'merchants.mid', 'terminals.tid', 'transactions.batch', 'transactions.stan', 'transactions.type', 'transactions.amount_fen', 'transactions.pan_masked', 'transactions.response_code', 'transactions.status', 'transactions.rrn', 'transactions.auth_code', 'transactions.password_free'])
    .orderBy('transactions.created_at', 'desc')
    .orderBy('transactions.id', 'desc')
    .limit(filter.limit);
  if (filter.tid !== undefined) q = q.where('terminals.tid', '=', filter.tid);
  if (filter.mid !== undefined) q = q.where('merchants.mid', '=', filter.mid);
  if (filter.rrn !== undefined) q = q.where('transactions.rrn', '=', filter.rrn);
  return (await q.execute()).map((t) => ({
    at: new Date(t.created_at).toISOString(),
    local_time: chinaTime(t.created_at),
    mid: t.mid,
    tid: t.tid,
    batch: t.batch,
    stan: t.stan,
    kind: kindOfType(t.type) ?? t.type,
    amount_fen: t.amount_fen,
    pan_masked: t.pan_masked,
    response_code: t.response_code,
    status: t.status,
    rrn: t.rrn,
    auth_code: t.auth_code,
    password_free: t.password_free === 1,
  }));
}
