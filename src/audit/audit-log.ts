import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database, Engine } from '../store/index.js';

/**
 * The tamper-evident audit log: every security event (key exchange, operator verification,
 * password change, activation, lockout…) is appended with a seal over the entry and the previous
 * entry's seal, so changing or removing an entry breaks the chain from there on. The seal is an
 * HMAC under a key derived from the LMK (`Hsm.auditSeal`, marked `k1:`): whoever can write to the
 * database but does not hold the LMK cannot rewrite the chain to match. Details never hold a PAN,
 * PIN, password, key or code; keys that look like one are refused outright.
 *
 * Entries written before the seal was keyed carry a plain SHA-256. The host reseals such a chain
 * once, at start, after checking it (`AuditLog.reseal`); from then on an unkeyed seal anywhere is
 * a break, so nobody can pass a rewritten chain off as an old one.
 */
export interface AuditEvent {
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly outcome: 'success' | 'failure' | 'info';
  readonly detail?: Readonly<Record<string, string | number | boolean | null>>;
}

/** What seals the chain: the HSM module's `auditSeal`. */
export interface AuditSealer {
  auditSeal(data: string): string;
}

const FORBIDDEN_DETAIL = /pin|password|pan$|^pan|track|key|secret|code_value|otp/i;
const GENESIS = '0'.repeat(64);
const KEYED = 'k1:';

function entryData(prev: string, at: number, e: AuditEvent, detail: string): string {
  return JSON.stringify([prev, at, e.actor, e.action, e.subject, e.outcome, detail]);
}

/** The seal of an entry with this data: keyed, or plain SHA-256 as entries were sealed before the key. */
function sealOf(sealer: AuditSealer, data: string, keyed: boolean): string {
  return keyed ? KEYED + sealer.auditSeal(data) : createHash('sha256').update(data).digest('hex');
}

export class AuditLog {
  constructor(
    private readonly engine: Engine,
    private readonly sealer: AuditSealer,
  ) {}

  /** Appends `event` in the caller's transaction, sealed onto the chain. */
  async append(trx: Transaction<Database>, event: AuditEvent, now = Date.now()): Promise<void> {
    for (const key of Object.keys(event.detail ?? {})) {
      if (FORBIDDEN_DETAIL.test(key)) throw new Error(`audit detail "${key}" looks like a secret; audit entries never carry one`);
    }
    await this.lockChain(trx);
    const last = await trx.selectFrom('audit_events').select('hash').orderBy('id', 'desc').limit(1).executeTakeFirst();
    const prev = last?.hash ?? GENESIS;
    const detail = JSON.stringify(event.detail ?? {});
    await trx
      .insertInto('audit_events')
      .values({ at: now, actor: event.actor, action: event.action, subject: event.subject, outcome: event.outcome, detail, prev_hash: prev, hash: sealOf(this.sealer, entryData(prev, now, event, detail), true) })
      .execute();
  }

  /**
   * A chain written before the seal was keyed (plain SHA-256 seals) is checked and, if it holds,
   * sealed again under the key, in the caller's transaction: `resealed`. A chain that does not
   * hold is left as it is for someone to look at (`broken`); a keyed one is left alone (`keyed`,
   * its entries not counted).
   */
  async reseal(trx: Transaction<Database>): Promise<{ readonly outcome: 'keyed' | 'resealed' | 'broken'; readonly entries: number; readonly brokenAt?: number }> {
    const unkeyed = await trx.selectFrom('audit_events').select('id').where('hash', 'not like', `${KEYED}%`).limit(1).executeTakeFirst();
    if (!unkeyed) return { outcome: 'keyed', entries: 0 };
    await this.lockChain(trx);
    const rows = await trx.selectFrom('audit_events').selectAll().orderBy('id').execute();
    let prev = GENESIS;
    let sealed = GENESIS;
    const seals: { id: number; prev: string; hash: string }[] = [];
    for (const r of rows) {
      if (r.hash.startsWith(KEYED) || r.prev_hash !== prev || r.hash !== sealOf(this.sealer, entryData(prev, r.at, eventOf(r), r.detail), false)) return { outcome: 'broken', entries: rows.length, brokenAt: r.id };
      const hash = sealOf(this.sealer, entryData(sealed, r.at, eventOf(r), r.detail), true);
      seals.push({ id: r.id, prev: sealed, hash });
      prev = r.hash;
      sealed = hash;
    }
    for (const e of seals) await trx.updateTable('audit_events').set({ prev_hash: e.prev, hash: e.hash }).where('id', '=', e.id).execute();
    return { outcome: 'resealed', entries: rows.length };
  }

  /** Serialises writers across host processes: the chain needs one writer at a time (SQLite has one anyway). */
  private async lockChain(trx: Transaction<Database>): Promise<void> {
    if (this.engine !== 'postgres') return;
    await trx.insertInto('sequences').values({ name: 'audit_chain', value: 0 }).onConflict((oc) => oc.column('name').doNothing()).execute();
    await trx.selectFrom('sequences').select('value').where('name', '=', 'audit_chain').forUpdate().execute();
  }
}

export interface AuditChainReport {
  readonly ok: boolean;
  readonly events: number;
  /** id of the first entry whose seal or link does not hold */
  readonly brokenAt?: number;
}

/** Walks the chain from the start: every link must hold and every seal be keyed and right. */
export async function verifyAuditChain(db: Kysely<Database>, sealer: AuditSealer): Promise<AuditChainReport> {
  const rows = await db.selectFrom('audit_events').selectAll().orderBy('id').execute();
  let prev = GENESIS;
  for (const r of rows) {
    if (r.prev_hash !== prev || r.hash !== sealOf(sealer, entryData(prev, r.at, eventOf(r), r.detail), true)) return { ok: false, events: rows.length, brokenAt: r.id };
    prev = r.hash;
  }
  return { ok: true, events: rows.length };
}

function eventOf(r: { actor: string; action: string; subject: string; outcome: string }): AuditEvent {
  return { actor: r.actor, action: r.action, subject: r.subject, outcome: r.outcome as AuditEvent['outcome'] };
}
