import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, verifyAuditChain, type AuditEvent } from '../../src/audit/index.js';
import { lmkFromBytes, SoftwareHsm } from '../../src/hsm/index.js';
import { ENGINES, openTestStore, postgresReachable, type TestStore } from '../support/stores.js';

const event = (n: number): AuditEvent => ({ actor: 'terminal:30000001', action: 'operator.verify', subject: 'operator:30000001:01', outcome: n % 2 ? 'failure' : 'success', detail: { attempt: n } });

/** What an entry's data is, as anyone reading the code can rebuild it. */
const dataOf = (prev: string, r: { at: number; actor: string; action: string; subject: string; outcome: string; detail: string }) => JSON.stringify([prev, r.at, r.actor, r.action, r.subject, r.outcome, r.detail]);

describe.each(ENGINES)('the audit log on %s: a chain only the LMK can extend', (engine) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  async function setup(events = 4) {
    if (engine === 'postgres' && !(await postgresReachable())) return undefined;
    store = await openTestStore(engine);
    const hsm = new SoftwareHsm(lmkFromBytes(randomBytes(32)));
    const log = new AuditLog(engine, hsm);
    for (let i = 1; i <= events; i++) await store.transact((trx) => log.append(trx, event(i), 1_800_000_000_000 + i));
    const rows = await store.db.selectFrom('audit_events').selectAll().orderBy('id').execute();
    return { db: store.db, hsm, rows };
  }

  it('a chain as written verifies, every seal keyed', async () => {
    const t = await setup();
    if (!t) return;
    expect(t.rows.every((r) => r.hash.startsWith('k1:'))).toBe(true);
    expect(await verifyAuditChain(t.db, t.hsm)).toEqual({ ok: true, events: 4 });
    // under another LMK nothing holds
    expect(await verifyAuditChain(t.db, new SoftwareHsm(lmkFromBytes(randomBytes(32))))).toMatchObject({ ok: false, brokenAt: t.rows[0]!.id });
  });

  it('an entry changed, or removed, breaks the chain there', async () => {
    const t = await setup();
    if (!t) return;
    await t.db.updateTable('audit_events').set({ outcome: 'success' }).where('id', '=', t.rows[2]!.id).execute();
    expect(await verifyAuditChain(t.db, t.hsm)).toMatchObject({ ok: false, brokenAt: t.rows[2]!.id });
    await t.db.updateTable('audit_events').set({ outcome: t.rows[2]!.outcome }).where('id', '=', t.rows[2]!.id).execute();
    await t.db.deleteFrom('audit_events').where('id', '=', t.rows[1]!.id).execute();
    expect(await verifyAuditChain(t.db, t.hsm)).toMatchObject({ ok: false, brokenAt: t.rows[2]!.id });
  });

  it('someone with the database but not the LMK cannot rewrite the chain to match: not with plain SHA-256 (from any entry, the first included), not with a key of their own', async () => {
    const t = await setup();
    if (!t) return;
    const forgeries = [
      { from: 1, seal: (d: string) => createHash('sha256').update(d).digest('hex') },
      { from: 1, seal: (d: string) => `k1:${createHmac('sha256', 'guess').update(d).digest('hex')}` },
      // last: it rewrites the first entry too
      { from: 0, seal: (d: string) => createHash('sha256').update(d).digest('hex') },
    ];
    for (const { from, seal } of forgeries) {
      // the second entry's outcome changed, and every seal from `from` on recomputed
      let prev = from === 0 ? '0'.repeat(64) : t.rows[from - 1]!.hash;
      for (const r of t.rows.slice(from)) {
        const row = { ...r, outcome: r.id === t.rows[1]!.id ? 'success' : r.outcome };
        const hash = seal(dataOf(prev, row));
        await t.db.updateTable('audit_events').set({ outcome: row.outcome, prev_hash: prev, hash }).where('id', '=', r.id).execute();
        prev = hash;
      }
      expect(await verifyAuditChain(t.db, t.hsm)).toMatchObject({ ok: false, brokenAt: t.rows[from]!.id });
    }
  });

  /** Writes `n` entries as they were sealed before the key: plain SHA-256. */
  async function writeUnkeyed(db: NonNullable<Awaited<ReturnType<typeof setup>>>['db'], n: number): Promise<void> {
    let prev = '0'.repeat(64);
    for (let i = 1; i <= n; i++) {
      const e = event(i);
      const row = { at: 1_700_000_000_000 + i, actor: e.actor, action: e.action, subject: e.subject, outcome: e.outcome, detail: JSON.stringify(e.detail) };
      const hash = createHash('sha256').update(dataOf(prev, row)).digest('hex');
      await db.insertInto('audit_events').values({ ...row, prev_hash: prev, hash }).execute();
      prev = hash;
    }
  }

  it('a chain sealed before the key is checked and sealed under it, once; then it verifies, and the log goes on', async () => {
    const t = await setup(0);
    if (!t) return;
    await writeUnkeyed(t.db, 3);
    expect(await verifyAuditChain(t.db, t.hsm)).toMatchObject({ ok: false });
    const log = new AuditLog(engine, t.hsm);
    expect(await store!.transact((trx) => log.reseal(trx))).toEqual({ outcome: 'resealed', entries: 3 });
    expect(await store!.transact((trx) => log.reseal(trx))).toEqual({ outcome: 'keyed', entries: 0 });
    await store!.transact((trx) => log.append(trx, event(4)));
    expect(await verifyAuditChain(t.db, t.hsm)).toEqual({ ok: true, events: 4 });
  });

  it('an old chain that does not hold is not sealed: it stays broken for someone to look at', async () => {
    const t = await setup(0);
    if (!t) return;
    await writeUnkeyed(t.db, 3);
    const rows = await t.db.selectFrom('audit_events').select('id').orderBy('id').execute();
    await t.db.updateTable('audit_events').set({ outcome: 'info' }).where('id', '=', rows[1]!.id).execute();
    expect(await store!.transact((trx) => new AuditLog(engine, t.hsm).reseal(trx))).toEqual({ outcome: 'broken', entries: 3, brokenAt: rows[1]!.id });
  });
});
