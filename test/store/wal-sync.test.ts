import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GroupCommitter, type DeferredDurability } from '../../src/store/group-commit.js';
import { WalCheckpointer } from '../../src/store/checkpointer.js';
import { WalSync, WalSyncError } from '../../src/store/wal-sync.js';
import { openStore, Sqlite, SQLITE_DRIVER, type Store } from '../../src/store/index.js';

const dirs: string[] = [];
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'posgate-wal-'));
  dirs.push(dir);
  return join(dir, 'posgate.db');
}

let store: Store | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await store?.close();
  store = undefined;
  for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
});

/** A durability barrier the test releases by hand, recording what the committer asked of it. */
function manualDurability() {
  const calls: string[] = [];
  const barriers: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let failed: Error | undefined;
  const durability: DeferredDurability = {
    syncAtCommit: (sync) => calls.push(sync ? 'full' : 'normal'),
    afterCommit: () => {
      calls.push('afterCommit');
      return new Promise<void>((resolve, reject) => barriers.push({ resolve, reject }));
    },
    get failed() {
      return failed;
    },
  };
  return { durability, calls, barriers, fail: (e: Error) => (failed = e) };
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setTimeout(r, 20));
  return done;
};

describe('group commit with the fsync after COMMIT (SQLite)', () => {
  it('holds every unit of a group until the fsync that follows its COMMIT has finished', async () => {
    store = await openStore(`sqlite:${tempDb()}`);
    const manual = manualDurability();
    const committer = new GroupCommitter(store.db, { durability: manual.durability });
    const units = [1, 2, 3].map((value) => committer.run((trx) => trx.insertInto('sequences').values({ name: `n${value}`, value }).execute().then(() => value)));
    await vi.waitFor(() => expect(manual.barriers.length).toBe(1));
    // committed (another connection sees the rows) but not yet reported to anyone
    const seen = await store.read.selectFrom('sequences').select('name').execute();
    expect(seen.map((r) => r.name).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(await settled(Promise.race(units))).toBe(false);
    manual.barriers[0]!.resolve();
    expect(await Promise.all(units)).toEqual([1, 2, 3]);
    // the COMMIT ran with the fsync left out, and the connection went back to FULL after it
    expect(manual.calls).toEqual(['normal', 'full', 'afterCommit']);
    expect((await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db)).rows[0]!.synchronous).toBe(2);
  });

  it('fails the units of a group whose fsync failed, and runs nothing after that', async () => {
    store = await openStore(`sqlite:${tempDb()}`);
    const manual = manualDurability();
    const committer = new GroupCommitter(store.db, { durability: manual.durability });
    const first = committer.run((trx) => trx.insertInto('sequences').values({ name: 'first', value: 1 }).execute());
    await vi.waitFor(() => expect(manual.barriers.length).toBe(1));
    const failure = new WalSyncError('fsync of the write-ahead log failed: EIO');
    manual.fail(failure);
    manual.barriers[0]!.reject(failure);
    await expect(first).rejects.toThrow(/fsync of the write-ahead log failed/);
    const work = vi.fn(async () => 1);
    await expect(committer.run(work)).rejects.toBe(failure);
    expect(work).not.toHaveBeenCalled();
  });

  it('a store on a file: transact resolves with the data on disk, other commits still fsync inside COMMIT', async () => {
    const file = tempDb();
    store = await openStore(`sqlite:${file}`);
    const probe = await fs.open(join(file, '..'), 'r');
    const fileHandleSync = vi.spyOn(Object.getPrototypeOf(probe) as { sync(): Promise<void> }, 'sync');
    await probe.close();
    const values = await Promise.all(Array.from({ length: 40 }, (_, i) => store!.transact((trx) => trx.insertInto('sequences').values({ name: `s${i}`, value: i }).execute().then(() => i))));
    expect(values).toHaveLength(40);
    // one fsync (after the directory's, on first use) per flush, never more flushes than commits
    const walSyncs = fileHandleSync.mock.calls.length - 1;
    expect(walSyncs).toBeGreaterThanOrEqual(1);
    expect(walSyncs).toBeLessThanOrEqual(store.commitStats().commits);
    expect((await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db)).rows[0]!.synchronous).toBe(2);
    // a plain transaction outside the group committer commits with FULL
    await store.db.transaction().execute((trx) => trx.insertInto('sequences').values({ name: 'plain', value: 1 }).execute());
    const count = await store.db.selectFrom('sequences').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(41);
  });
});

describe('WalSync', () => {
  it('answers a burst of commits with a few fsyncs, each caller only after one that began after it', async () => {
    const file = tempDb();
    store = await openStore(`sqlite:${file}`); // creates the database and its -wal file
    const wal = new WalSync(file);
    await Promise.all(Array.from({ length: 100 }, () => wal.afterCommit()));
    expect(wal.stats().flushes).toBeGreaterThanOrEqual(1);
    expect(wal.stats().flushes).toBeLessThanOrEqual(2);
    const before = wal.stats().flushes;
    await wal.afterCommit();
    expect(wal.stats().flushes).toBe(before + 1);
    await wal.close();
  });

  it('a WAL it cannot sync fails that commit and every later one with a stable error', async () => {
    const wal = new WalSync(join(tmpdir(), 'posgate-no-such-dir', 'x.db'));
    await expect(wal.afterCommit()).rejects.toBeInstanceOf(WalSyncError);
    expect(wal.failed?.message).toMatch(/^fsync of the write-ahead log failed/);
    await expect(wal.afterCommit()).rejects.toBe(wal.failed);
  });
});

describe('WalCheckpointer', () => {
  it('copies the WAL into the database from its own thread, without blocking the writer, and stops', async () => {
    const file = tempDb();
    const writer = new Sqlite(file);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0'); // only the checkpointer copies here
    writer.exec('create table t (v text)');
    const insert = writer.prepare('insert into t values (?)');
    writer.transaction(() => {
      for (let i = 0; i < 2_000; i++) insert.run('x'.repeat(200));
    })();
    const checkpointer = WalCheckpointer.start(file, SQLITE_DRIVER, 10);
    await vi.waitFor(() => expect(checkpointer.checkpointStats().copiedFrames).toBeGreaterThan(0), { timeout: 5_000 });
    const stats = checkpointer.checkpointStats();
    expect(stats.copiedFrames).toBe(stats.walFrames);
    expect(stats.lastError).toBeUndefined();
    // the writer goes on meanwhile
    insert.run('after');
    await checkpointer.stop();
    writer.close();
    const reader = new Sqlite(file, { readonly: true });
    expect((reader.prepare('select count(*) as n from t').get() as { n: number }).n).toBe(2_001);
    reader.close();
  });
});
