import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { afterCommit, CommittedRows, invalidateCommitted, openStore, type Store } from '../../src/store/index.js';
import { ENGINES, openTestStore, postgresReachable, type TestStore } from '../support/stores.js';

/**
 * What a domain keeps from one group transaction to the next (CommittedRows): only what a committed
 * transaction held, and only until something else may have changed the database.
 */
describe.each(ENGINES)('rows kept across transactions on %s', (engine) => {
  const opened: Store[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  const open = async (): Promise<TestStore | undefined> => {
    if (engine === 'postgres' && !(await postgresReachable())) return undefined;
    const s = await openTestStore(engine, join(mkdtempSync(join(tmpdir(), 'posgate-kept-')), 'kept.db'));
    opened.push(s);
    return s;
  };
  const keep = (s: Store, rows: CommittedRows<number>, value: number) =>
    s.transact(async (trx) => {
      rows.keepAfterCommit(trx, () => [['k', value]]);
    });
  const read = (s: Store, rows: CommittedRows<number>) => s.transact(async (trx) => rows.get(trx, 'k') ?? null);

  it('a row is kept once its transaction commits, never from one that rolled back', async () => {
    const s = await open();
    if (!s) return;
    const rows = new CommittedRows<number>(10);
    expect(await read(s, rows)).toBeNull();
    await keep(s, rows, 1);
    // PostgreSQL keeps nothing: other hosts write the same rows
    expect(await read(s, rows)).toBe(engine === 'sqlite' ? 1 : null);
    const failed = s.transact(async (trx) => {
      rows.keepAfterCommit(trx, () => [['k', 2]]);
      throw new Error('the unit fails');
    });
    await expect(failed).rejects.toThrow('the unit fails');
    expect(await read(s, rows)).toBeNull();
  });

  it('a hook that fails after COMMIT neither fails nor repeats its unit, and drops what was kept', async () => {
    const s = await open();
    if (!s) return;
    const rows = new CommittedRows<number>(10);
    await keep(s, rows, 1);
    let runs = 0;
    const result = await s.transact(async (trx) => {
      runs++;
      await trx.insertInto('sequences').values({ name: 'once', value: 1 }).execute();
      afterCommit(trx, () => {
        throw new Error('a defect in a hook');
      });
      return 'committed';
    });
    expect(result).toBe('committed');
    expect(runs).toBe(1);
    expect(await s.db.selectFrom('sequences').select('value').where('name', '=', 'once').execute()).toEqual([{ value: 1 }]);
    expect(await read(s, rows)).toBeNull();
  });

  it.runIf(engine === 'sqlite')('a commit on another connection (a posgate command beside the host) starts it afresh', async () => {
    const s = (await open())!;
    const rows = new CommittedRows<number>(10);
    await keep(s, rows, 1);
    expect(await read(s, rows)).toBe(1);
    // the host's own commits leave it standing
    await s.transact((trx) => trx.insertInto('sequences').values({ name: 'mine', value: 1 }).execute());
    expect(await read(s, rows)).toBe(1);
    const other = await openStore(s.url);
    opened.push(other);
    await other.transact((trx) => trx.insertInto('sequences').values({ name: 'theirs', value: 1 }).execute());
    expect(await read(s, rows)).toBeNull();
  });

  it.runIf(engine === 'sqlite')('a write around the domain (invalidateCommitted) starts it afresh once it commits', async () => {
    const s = (await open())!;
    const rows = new CommittedRows<number>(10);
    await keep(s, rows, 1);
    await s.transact(async (trx) => {
      invalidateCommitted(trx);
      expect(rows.get(trx, 'k')).toBe(1);
    });
    expect(await read(s, rows)).toBeNull();
  });

  it.runIf(engine === 'sqlite')('a write around the domain outside any group, on the host\'s own connection, starts it afresh at the next group', async () => {
    const s = (await open())!;
    const rows = new CommittedRows<number>(10);
    await keep(s, rows, 1);
    // the same connection as the committer's: its data_version does not move
    await s.db.insertInto('sequences').values({ name: 'around', value: 1 }).execute();
    expect(await read(s, rows)).toBe(1);
    invalidateCommitted(s.db);
    expect(await read(s, rows)).toBeNull();
  });

  it.runIf(engine === 'sqlite')('holds at most its limit', async () => {
    const s = (await open())!;
    const rows = new CommittedRows<number>(3);
    await s.transact(async (trx) => {
      rows.keepAfterCommit(trx, () => [
        ['a', 1],
        ['b', 2],
        ['c', 3],
        ['d', 4],
      ]);
    });
    expect(rows.size).toBeLessThanOrEqual(3);
    expect(await s.transact(async (trx) => rows.get(trx, 'd'))).toBe(4);
  });
});
