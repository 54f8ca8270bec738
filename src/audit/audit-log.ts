import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database, Engine } from '../store/index.js';

/**
 * The tamper-evident audit log: every security event (key exchange, operator verification,
 * password change, activation, lockout…) is appended with the SHA-256 of the previous entry, so
 * changing or removing an entry breaks the chain from there on. Details never hold a PAN, PIN,
 * password, key or code; keys that look like one are refused outright.
 */
export interface AuditEvent {
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly outcome: 'success' | 'failure' | 'info';
  readonly detail?: Readonly<Record<string, string | number | boolean | null>>;
}

const FORBIDDEN_DETAIL = /pin|password|pan$|^pan|track|key|secret|code_value|otp/i;
const GENESIS = '0'.repeat(64);

function entryHash(prev: string, at: number, e: AuditEvent, detail: string): string {
  return createHash('sha256').update(JSON.stringify([prev, at, e.actor, e.action, e.subject, e.outcome, detail])).digest('hex');
}

export async function appendAudit(trx: Transaction<Database>, engine: Engine, event: AuditEvent, now = Date.now()): Promise<void> {
  for (const key of Object.keys(event.detail ?? {})) {
    if (FORBIDDEN_DETAIL.test(key)) throw new Error(`audit detail "${key}" looks like a secret; audit entries never carry one`);
  }
  // Serialise appenders across host processes: the chain needs one writer at a time.
  if (engine === 'postgres') {
    await trx.insertInto('sequences').values({ name: 'audit_chain', value: 0 }).onConflict((oc) => oc.column('name').doNothing()).execute();
    await trx.selectFrom('sequences').select('value').where('name', '=', 'audit_chain').forUpdate().execute();
  }
  const last = await trx.selectFrom('audit_events').select('hash').orderBy('id', 'desc').limit(1).executeTakeFirst();
  const prev = last?.hash ?? GENESIS;
  const detail = JSON.stringify(event.detail ?? {});
  await trx
    .insertInto('audit_events')
    .values({ at: now, actor: event.actor, action: event.action, subject: event.subject, outcome: event.outcome, detail, prev_hash: prev, hash: entryHash(prev, now, event, detail) })
    .execute();
}

export interface AuditChainReport {
  readonly ok: boolean;
  readonly events: number;
  /** id of the first entry whose hash or link does not hold */
  readonly brokenAt?: number;
}

export async function verifyAuditChain(db: Kysely<Database>): Promise<AuditChainReport> {
  const rows = await db.selectFrom('audit_events').selectAll().orderBy('id').execute();
  let prev = GENESIS;
  for (const r of rows) {
    const expected = entryHash(prev, r.at, { actor: r.actor, action: r.action, subject: r.subject, outcome: r.outcome as AuditEvent['outcome'] }, r.detail);
    if (r.prev_hash !== prev || r.hash !== expected) return { ok: false, events: rows.length, brokenAt: r.id };
    prev = r.hash;
  }
  return { ok: true, events: rows.length };
}
