import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/index.js';
import { deferBalanceChange, deferInsert, newId } from '../store/index.js';

/**
 * Double-entry ledger. Amounts are integer fen, debits positive and credits negative; the lines of
 * every posting sum to zero and each account's balance is the sum of its lines. Postings are only
 * ever added: a void or reversal is a new posting with the lines negated.
 *
 * Accounts:
 * - `card_funds`: what card issuers owe us for approved card payments (asset);
 * - `refunds_payable`: what we owe card issuers for refunds (liability);
 * - `fee_income`: merchant discount fees earned (income);
 * - `merchant:<id>:pending`: the merchant's takings not yet settled (liability);
 * - `merchant:<id>:available`: settled and due to the merchant (liability).
 */
export type AccountKind = 'asset' | 'liability' | 'income';

export const ACCOUNTS = {
  cardFunds: 'card_funds',
  refundsPayable: 'refunds_payable',
  feeIncome: 'fee_income',
  merchantPending: (merchantId: string) => `merchant:${merchantId}:pending`,
  merchantAvailable: (merchantId: string) => `merchant:${merchantId}:available`,
} as const;

export type PostingKind = 'sale' | 'completion' | 'refund' | 'void' | 'reversal' | 'settlement';

export interface PostingLine {
  readonly account: string;
  readonly amountFen: number;
}

export class LedgerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerError';
  }
}

type Db = Kysely<Database> | Transaction<Database>;

export async function ensureSystemAccounts(db: Db): Promise<void> {
  await ensureAccount(db, ACCOUNTS.cardFunds, 'asset');
  await ensureAccount(db, ACCOUNTS.refundsPayable, 'liability');
  await ensureAccount(db, ACCOUNTS.feeIncome, 'income');
}

export async function ensureMerchantAccounts(db: Db, merchantId: string): Promise<void> {
  await ensureAccount(db, ACCOUNTS.merchantPending(merchantId), 'liability', merchantId);
  await ensureAccount(db, ACCOUNTS.merchantAvailable(merchantId), 'liability', merchantId);
}

async function ensureAccount(db: Db, code: string, kind: AccountKind, merchantId?: string): Promise<void> {
  await db
    .insertInto('accounts')
    .values({ id: code, code, kind, merchant_id: merchantId ?? null, balance_fen: 0 })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/** Writes one balanced posting inside the caller's transaction; returns its id. */
export async function post(trx: Transaction<Database>, kind: PostingKind, transactionId: string | null, lines: readonly PostingLine[], now = Date.now()): Promise<string> {
  if (lines.length < 2) throw new LedgerError(`a ${kind} posting needs at least two lines`);
  let sum = 0;
  for (const line of lines) {
    if (!Number.isSafeInteger(line.amountFen) || line.amountFen === 0) throw new LedgerError(`posting line of ${line.amountFen} fen on ${line.account}: amounts are non-zero whole fen`);
    sum += line.amountFen;
  }
  if (sum !== 0) throw new LedgerError(`unbalanced ${kind} posting: lines sum to ${sum} fen`);
  const id = newId('pst');
  // The posting, its lines and the balance changes are written with the rest of the group commit,
  // just before COMMIT (store/group-commit.ts): one statement per table and per account per batch.
  await deferInsert(trx, 'postings', { id, transaction_id: transactionId, kind, created_at: now });
  for (const l of lines) {
    await deferInsert(trx, 'posting_lines', { posting_id: id, account_id: l.account, amount_fen: l.amountFen });
    deferBalanceChange(trx, l.account, l.amountFen);
  }
  return id;
}

/** Negates the net of every posting recorded for `transactionId`, as one new posting attributed to `attributedTo` (the void, or the reversed transaction itself). */
export async function reverseTransactionPostings(trx: Transaction<Database>, transactionId: string, kind: 'void' | 'reversal', attributedTo: string, now = Date.now()): Promise<number> {
  const lines = await trx
    .selectFrom('posting_lines')
    .innerJoin('postings', 'postings.id', 'posting_lines.posting_id')
    .select(['posting_lines.account_id as account', sql<number>`sum(posting_lines.amount_fen)`.as('amount')])
    .where('postings.transaction_id', '=', transactionId)
    .groupBy('posting_lines.account_id')
    .execute();
  const net = lines.map((l) => ({ account: l.account, amountFen: -Number(l.amount) })).filter((l) => l.amountFen !== 0);
  if (net.length === 0) return 0;
  await post(trx, kind, attributedTo, net, now);
  return net.length;
}

export async function balanceOf(db: Db, account: string): Promise<number> {
  const row = await db.selectFrom('accounts').select('balance_fen').where('id', '=', account).executeTakeFirst();
  return row ? Number(row.balance_fen) : 0;
}

export interface LedgerReport {
  readonly ok: boolean;
  readonly postings: number;
  readonly lines: number;
  readonly accounts: number;
  readonly unbalancedPostings: { posting: string; sumFen: number }[];
  readonly accountMismatches: { account: string; balanceFen: number; linesFen: number }[];
  /** the system accounts' balances (debits positive, credits negative) */
  readonly totals: Record<string, number>;
  /** every merchant's pending (not yet settled) and available (settled, due) balances added up */
  readonly merchants: { readonly pendingFen: number; readonly availableFen: number };
}

/** Checks every posting balances and every account balance equals the sum of its lines. */
export async function verifyLedger(db: Kysely<Database>): Promise<LedgerReport> {
  const unbalanced = await db
    .selectFrom('posting_lines')
    .select(['posting_id', sql<number>`sum(amount_fen)`.as('total')])
    .groupBy('posting_id')
    .having(sql`sum(amount_fen)`, '<>', 0)
    .execute();
  const accounts = await db.selectFrom('accounts').select(['id', 'balance_fen']).execute();
  const sums = await db.selectFrom('posting_lines').select(['account_id', sql<number>`sum(amount_fen)`.as('total')]).groupBy('account_id').execute();
  const sumByAccount = new Map(sums.map((s) => [s.account_id, Number(s.total)]));
  const mismatches = accounts
    .map((a) => ({ account: a.id, balanceFen: Number(a.balance_fen), linesFen: sumByAccount.get(a.id) ?? 0 }))
    .filter((a) => a.balanceFen !== a.linesFen);
  for (const [account, total] of sumByAccount) if (!accounts.some((a) => a.id === account)) mismatches.push({ account, balanceFen: 0, linesFen: total });
  const counts = await db
    .selectFrom('postings')
    .select((eb) => [eb.fn.countAll<number>().as('n')])
    .executeTakeFirstOrThrow();
  const lineCount = await db.selectFrom('posting_lines').select((eb) => [eb.fn.countAll<number>().as('n')]).executeTakeFirstOrThrow();
  const empty = await db
    .selectFrom('postings')
    .leftJoin('posting_lines', 'posting_lines.posting_id', 'postings.id')
    .select('postings.id')
    .where('posting_lines.id', 'is', null)
    .execute();
  const unbalancedPostings = [...unbalanced.map((u) => ({ posting: u.posting_id, sumFen: Number(u.total) })), ...empty.map((e) => ({ posting: e.id, sumFen: 0 }))];
  const totals: Record<string, number> = {};
  const merchants = { pendingFen: 0, availableFen: 0 };
  for (const a of accounts) {
    if (!a.id.startsWith('merchant:')) totals[a.id] = Number(a.balance_fen);
    else if (a.id.endsWith(':pending')) merchants.pendingFen += Number(a.balance_fen);
    else if (a.id.endsWith(':available')) merchants.availableFen += Number(a.balance_fen);
  }
  return {
    ok: unbalancedPostings.length === 0 && mismatches.length === 0,
    postings: Number(counts.n),
    lines: Number(lineCount.n),
    accounts: accounts.length,
    unbalancedPostings,
    accountMismatches: mismatches,
    totals,
    merchants,
  };
}
