import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { verifyLedger } from '../../src/ledger/index.js';
import { openStore } from '../../src/store/index.js';
import { loseNextCommitAcknowledgement } from '../support/commit-faults.js';
import { platformFor, startTestPlatform } from '../support/platform.js';
import { ENGINES, holdTableLock, postgresReachable } from '../support/stores.js';

/**
 * Protocol §7, "any" row: an internal failure before the commit is answered 96 with nothing
 * committed; once the fault is gone the host serves again, with no restart.
 */
describe.each(ENGINES)('host on %s: store failures', (engine) => {
  const platform = platformFor(engine);
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('answers 96, records and moves nothing, and serves again once the store is back', async () => {
    const p = platform();
    if (!p) return;
    const { db } = p.platform.store;
    const t = p.terminal(0);
    await t.signIn();
    const card = p.card('6224242900000113');
    expect((await t.sale(card, 500, '123456')).rc).toBe('00');
    const before = await verifyLedger(db);
    const rows = async () => Number((await db.selectFrom('transactions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const recorded = await rows();

    // The issuer's card table goes away under the host (a failed migration, an operator's mistake).
    await sql`alter table cards rename to cards_away`.execute(db);
    try {
      const failed = await t.sale(card, 700, '123456');
      expect(failed.rc).toBe('96');
      expect(failed.approved).toBe(false);
      // the request's MAC verified, so the answer carries one (§5.3), and the terminal checked it
      expect(failed.response?.has(64)).toBe(true);
      expect(failed.problem).toBeUndefined();
    } finally {
      await sql`alter table cards_away rename to cards`.execute(db);
    }
    expect(await rows()).toBe(recorded);
    const during = await verifyLedger(db);
    expect(during.ok).toBe(true);
    expect(during.postings).toBe(before.postings);
    expect(during.totals).toEqual(before.totals);

    // the same terminal, the same card: approved, and posted once
    const again = await t.sale(card, 700, '123456');
    expect(again.rc).toBe('00');
    const after = await verifyLedger(db);
    expect(after.ok).toBe(true);
    expect(after.postings).toBe(before.postings + 1);
  });

  it('a sale whose COMMIT is in doubt gets no answer; the terminal reverses it and the money comes back', async () => {
    const p = platform();
    if (!p) return;
    const { db } = p.platform.store;
    const t = p.terminal(1, { responseTimeoutMs: 3_000 });
    await t.signIn();
    const card = p.card('6224242900000113');
    // a first sale, so that the parameter downloads the host asks for are done before the fault
    expect((await t.sale(card, 1, '123456')).rc).toBe('00');
    const funds = async () => Number((await db.selectFrom('cards').select('balance_fen').where('pan_masked', 'like', '622424%0113').executeTakeFirstOrThrow()).balance_fen);
    const before = await funds();

    const lost = loseNextCommitAcknowledgement(engine);
    const inDoubt = await t.sale(card, 888, '123456');
    expect(lost.fired()).toBe(true);
    vi.restoreAllMocks();
    // the host said nothing rather than 96 for a sale that did commit
    expect(inDoubt.rc).toBe('');
    expect(inDoubt.problem).toBe('no_response');
    expect(t.pendingReversal).toBeDefined();
    expect(await funds()).toBe(before - 888);

    // the next request starts with the reversal, which finds the committed sale and undoes it
    const next = await t.sale(card, 100, '123456');
    expect(next.rc).toBe('00');
    expect(t.pendingReversal).toBeUndefined();
    expect(await funds()).toBe(before - 100);
    expect((await verifyLedger(db)).ok).toBe(true);
  });
});

describe('host on postgres: a lock held elsewhere', () => {
  const platform = platformFor('postgres', { store: { lockTimeoutMs: 200 } });

  it('turns into 96s once the lock timeout passes, not into a host that stops answering; the lock gone, sales go through', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(0);
    await t.signIn();
    const card = p.card('6224242900000113');
    expect((await t.sale(card, 1, '123456')).rc).toBe('00');
    const before = await verifyLedger(p.platform.store.db);

    // an operator's session (or a long migration) holds the issuer's card table
    const lock = await holdTableLock(p.db, 'cards');
    try {
      const blocked = await t.sale(card, 300, '123456');
      expect(blocked.rc).toBe('96');
      expect(blocked.problem).toBeUndefined();
    } finally {
      await lock.release();
    }
    expect((await verifyLedger(p.platform.store.db)).totals).toEqual(before.totals);
    expect((await t.sale(card, 300, '123456')).rc).toBe('00');
  });
});

describe('host on postgres: stopping with requests in flight', () => {
  it('answers the sale it had taken in before it closes, and takes in nothing new meanwhile', async () => {
    if (!(await postgresReachable())) return;
    const p = await startTestPlatform('postgres');
    try {
      const [t, other] = [p.terminal(0), p.terminal(1, { responseTimeoutMs: 2_000 })];
      await t.signIn();
      await other.signIn();
      const card = p.card('6224242900000113');
      // first sales, so that the parameter downloads the host asks for are done
      expect((await t.sale(card, 1, '123456')).rc).toBe('00');
      expect((await other.sale(card, 1, '123456')).rc).toBe('00');
      const before = await verifyLedger(p.platform.store.db);

      // the sale waits on a lock, so that it is still in flight when the host is told to stop
      const lock = await holdTableLock(p.db, 'cards');
      const inFlight = t.sale(card, 500, '123456');
      await new Promise((r) => setTimeout(r, 150));
      const closing = p.platform.close();
      const late = other.sale(card, 700, '123456');
      // load balancers hear that this host is stopping
      const health = await fetch(`http://127.0.0.1:${p.platform.httpPort}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: 'stopping' });
      await new Promise((r) => setTimeout(r, 150));
      await lock.release();

      expect((await inFlight).rc).toBe('00');
      await closing;
      expect((await late).rc).toBe(''); // never taken in: no answer, and nothing charged
      const reopened = await openStore(p.db);
      try {
        const after = await verifyLedger(reopened.db);
        expect(after.ok).toBe(true);
        expect(after.postings).toBe(before.postings + 1);
      } finally {
        await reopened.close();
      }
    } finally {
      await p.close();
    }
  });
});
