import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ACCOUNTS, balanceOf, ensureSystemAccounts, post, verifyLedger } from '../../src/ledger/index.js';
import { deferInsert, GroupCommitter } from '../../src/store/group-commit.js';
import { openStore, OutcomeInDoubtError, parseDbUrl } from '../../src/store/index.js';
import { loseNextCommitAcknowledgement } from '../support/commit-faults.js';
import { ENGINES, freshPostgresSchema, holdTableLock, openTestStore, postgresReachable, type TestStore } from '../support/stores.js';

describe('--db URLs', () => {
  it('tells SQLite from PostgreSQL', () => {
    expect(parseDbUrl('postgres://u@h/db').engine).toBe('postgres');
    expect(parseDbUrl('postgresql://u@h/db').engine).toBe('postgres');
    expect(parseDbUrl('sqlite:data/x.db')).toMatchObject({ engine: 'sqlite' });
    expect(parseDbUrl('data/posgate.db').target).toMatch(/\/data\/posgate\.db$/);
    expect(() => parseDbUrl('sqlite:')).toThrow(/empty/);
  });
});

describe.each(ENGINES)('store on %s', (engine) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await store?.close();
    store = undefined;
  });
  const open = async () => {
    if (engine === 'postgres' && !(await postgresReachable())) return undefined;
    store = await openTestStore(engine);
    return store;
  };

  it('applies the migrations on open', async () => {
    const s = await open();
    if (!s) return;
    const tables = await s.db.introspection.getTables();
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['merchants', 'terminals', 'transactions', 'postings', 'posting_lines', 'accounts', 'audit_events']));
  });

  it('group-commits concurrent units: each resolves after its commit, a failing unit alone rolls back', async () => {
    const s = await open();
    if (!s) return;
    const write = (name: string, value: number) => s.transact((trx) => trx.insertInto('sequences').values({ name, value }).execute().then(() => value));
    const failing = s.transact(async (trx) => {
      await trx.insertInto('sequences').values({ name: 'doomed', value: 1 }).execute();
      throw new Error('unit fails');
    });
    const results = await Promise.allSettled([write('a', 1), failing, write('b', 2), write('a', 3) /* duplicate key */, write('c', 4)]);
    expect(results[1]!.status).toBe('rejected');
    expect([results[2]!.status, results[4]!.status]).toEqual(['fulfilled', 'fulfilled']);
    // the two writes of 'a' may share a transaction or (PostgreSQL) run in concurrent ones: exactly one wins
    expect([results[0]!.status, results[3]!.status].sort()).toEqual(['fulfilled', 'rejected']);
    const rows = await s.db.selectFrom('sequences').select(['name', 'value']).orderBy('name').execute();
    const a = results[0]!.status === 'fulfilled' ? 1 : 3;
    expect(rows).toEqual([{ name: 'a', value: a }, { name: 'b', value: 2 }, { name: 'c', value: 4 }]);
    expect(s.commitStats().commits).toBeLessThan(5);
  });

  it('a unit that asks to run alone gets a transaction of its own: the units queued before it commit first', async () => {
    const s = await open();
    if (!s) return;
    const commits = s.commitStats().commits;
    const write = (name: string) => s.transact((trx) => trx.insertInto('sequences').values({ name, value: 1 }).execute());
    const before = [write('before_1'), write('before_2')];
    // what the lone unit sees: the rows of the units queued before it are in
    const seen = s.transact(async (trx) => (await trx.selectFrom('sequences').select('name').orderBy('name').execute()).map((r) => r.name), [], { alone: true });
    await Promise.all([...before, seen, write('after')]);
    expect(await seen).toEqual(['before_1', 'before_2']);
    expect(s.commitStats().commits - commits).toBe(3);
  });

  it('a group\'s postings, lines and balances all land (one statement on PostgreSQL), and a posting to no account fails alone', async () => {
    const s = await open();
    if (!s) return;
    await s.transact((trx) => ensureSystemAccounts(trx));
    const group = new GroupCommitter(s.db, { roundTrips: s.engine === 'postgres' });
    const sale = (fen: number) => group.run((trx) => post(trx, 'sale', null, [{ account: ACCOUNTS.cardFunds, amountFen: fen }, { account: ACCOUNTS.feeIncome, amountFen: -fen }]));
    const results = await Promise.allSettled([sale(100), sale(250), group.run((trx) => post(trx, 'sale', null, [{ account: 'no_such_account', amountFen: 5 }, { account: ACCOUNTS.feeIncome, amountFen: -5 }])), sale(1_000)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await balanceOf(s.db, ACCOUNTS.cardFunds)).toBe(1_350);
    expect(await balanceOf(s.db, ACCOUNTS.feeIncome)).toBe(-1_350);
    const lines = await s.db.selectFrom('posting_lines').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(lines.n)).toBe(6);
    expect((await verifyLedger(s.db)).ok).toBe(true);
  });

  it('deferred rows of different columns in one group still all land: the group fails and each unit runs alone', async () => {
    const s = await open();
    if (!s) return;
    const group = new GroupCommitter(s.db, { roundTrips: s.engine === 'postgres' });
    const now = Date.now();
    const results = await Promise.all([
      group.run((trx) => deferInsert(trx, 'postings', { id: 'pst_full', transaction_id: null, kind: 'settlement', created_at: now })),
      group.run((trx) => deferInsert(trx, 'postings', { id: 'pst_short', kind: 'settlement', created_at: now })),
    ]);
    expect(results).toHaveLength(2);
    const ids = await s.db.selectFrom('postings').select('id').orderBy('id').execute();
    expect(ids.map((r) => r.id)).toEqual(['pst_full', 'pst_short']);
    if (s.engine === 'postgres') expect(group.stats().commits).toBe(2); // one per unit after the failed group
  });

  it('a COMMIT that took effect but failed to say so: its units fail as in doubt and never run again', async () => {
    const s = await open();
    if (!s) return;
    await s.transact((trx) => ensureSystemAccounts(trx));
    const lost = loseNextCommitAcknowledgement(engine);
    const sale = (fen: number) => s.transact((trx) => post(trx, 'sale', null, [{ account: ACCOUNTS.cardFunds, amountFen: fen }, { account: ACCOUNTS.feeIncome, amountFen: -fen }]));
    const results = await Promise.allSettled([sale(100), sale(20)]);
    expect(lost.fired()).toBe(true);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(OutcomeInDoubtError);
    }
    // committed once, as the database says: running the units again would have posted them twice
    expect(await balanceOf(s.db, ACCOUNTS.cardFunds)).toBe(120);
    vi.restoreAllMocks();
    await sale(5);
    expect(await balanceOf(s.db, ACCOUNTS.cardFunds)).toBe(125);
    expect((await verifyLedger(s.db)).ok).toBe(true);
  });

  it.runIf(engine === 'postgres')('a COMMIT the database refuses is known not to have taken effect: the units run again alone and only the offender fails', async () => {
    const s = await open();
    if (!s) return;
    await sql`create table deferred_once (v integer, constraint deferred_once_v unique (v) deferrable initially deferred)`.execute(s.db);
    const group = new GroupCommitter(s.db, { roundTrips: true });
    const insert = (v: number) => group.run((trx) => trx.insertInto('deferred_once' as never).values({ v } as never).execute());
    const results = await Promise.allSettled([insert(1), insert(1), insert(2)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(((results[1] as PromiseRejectedResult).reason as { code?: string }).code).toBe('23505');
    const rows = await sql<{ v: number }>`select v from deferred_once order by v`.execute(s.db);
    expect(rows.rows.map((r) => r.v)).toEqual([1, 2]);
  });

  it.runIf(engine === 'postgres')('two groups at once post to the same accounts without a deadlock, and every fen lands', async () => {
    const s = await open();
    if (!s) return;
    await s.transact((trx) => ensureSystemAccounts(trx));
    let deadlocks = 0;
    const deadlock = (e: unknown) => (e as { code?: string }).code === '40P01' && ++deadlocks > 0;
    const group = new GroupCommitter(s.db, { roundTrips: true, concurrency: 2, retryable: deadlock });
    const posting = (fen: number, reversed: boolean) => {
      const lines = [{ account: ACCOUNTS.cardFunds, amountFen: fen }, { account: ACCOUNTS.feeIncome, amountFen: -fen / 2 }, { account: ACCOUNTS.refundsPayable, amountFen: -fen / 2 }];
      return group.run((trx) => post(trx, 'sale', null, reversed ? lines.reverse() : lines));
    };
    let expected = 0;
    const all: Promise<unknown>[] = [];
    for (let round = 0; round < 5; round++) {
      // a group held open for a moment, and the units that arrive meanwhile, enough for a second group
      all.push(group.run(async (trx) => void (await sql`select pg_sleep(0.05)`.execute(trx))));
      await new Promise((r) => setTimeout(r, 5));
      for (let i = 0; i < 40; i++) {
        const fen = 2 * (round * 40 + i + 1);
        expected += fen;
        all.push(posting(fen, i % 2 === 1));
      }
    }
    const results = await Promise.allSettled(all);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(group.stats().concurrentMax).toBe(2);
    expect(deadlocks).toBe(0);
    expect(await balanceOf(s.db, ACCOUNTS.cardFunds)).toBe(expected);
    expect(await balanceOf(s.db, ACCOUNTS.feeIncome)).toBe(-expected / 2);
    expect((await verifyLedger(s.db)).ok).toBe(true);
  });

  it.runIf(engine === 'postgres')('a lock held elsewhere fails the whole group once its timeout passes, without running each unit again', async () => {
    if (!(await postgresReachable())) return;
    const schema = await freshPostgresSchema();
    const s = await openStore(schema.url, { lockTimeoutMs: 200 });
    const lock = await holdTableLock(schema.url, 'sequences');
    try {
      let runs = 0;
      const write = (name: string) =>
        s.transact(async (trx) => {
          runs++;
          await trx.insertInto('sequences').values({ name, value: 1 }).execute();
        });
      const results = await Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map(write));
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
      expect(((results[0] as PromiseRejectedResult).reason as { code?: string }).code).toBe('55P03');
      // the group stopped at its first unit's lock wait, and no unit ran again alone behind the same lock
      expect(runs).toBe(1);
      await lock.release();
      await write('f');
      expect(await s.db.selectFrom('sequences').select('name').execute()).toEqual([{ name: 'f' }]);
    } finally {
      await lock.release();
      await s.close();
      await schema.drop();
    }
  });

  it('reads bigint money back as numbers', async () => {
    const s = await open();
    if (!s) return;
    await s.transact((trx) => trx.insertInto('sequences').values({ name: 'big', value: 9_007_199_254_740_991 }).execute());
    const row = await s.db.selectFrom('sequences').select('value').where('name', '=', 'big').executeTakeFirstOrThrow();
    expect(row.value).toBe(9_007_199_254_740_991);
    const count = await sql<{ n: number }>`select count(*) as n from sequences`.execute(s.db);
    expect(Number(count.rows[0]!.n)).toBe(1);
  });
});
