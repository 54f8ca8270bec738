import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claimNodeLease, LEASE_STALE_MS, NodeLeaseError } from '../../src/host/index.js';
import { startPlatform } from '../../src/platform/platform.js';
import { posgateBinaryAsync } from '../cli/run-cli.js';
import { startTestPlatform } from '../support/platform.js';
import { ENGINES, openTestStore, postgresReachable } from '../support/stores.js';

/** The pid of a process that has just exited: no process of this machine has it now. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe.each(ENGINES)('host leases on %s', (engine) => {
  it('a second host on the same data is refused while the first serves, and starts once it stopped', async () => {
    if (engine === 'postgres' && !(await postgresReachable())) return;
    const dir = mkdtempSync(join(tmpdir(), 'posgate-lease-'));
    const first = await startTestPlatform(engine, { dir });
    const second = () => startPlatform({ db: first.db, isoPort: 0, httpPort: 0, hostname: '127.0.0.1', lmkFile: join(dir, 'lmk.key') });
    try {
      const refused = await second().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(NodeLeaseError);
      expect((refused as NodeLeaseError).code).toBe('node_in_use');
      expect((refused as Error).message).toMatch(engine === 'sqlite' ? /this database is served by another posgate host .*stop it first/ : /RRN node id 0 .*another --node-id/);
      if (engine === 'postgres') {
        // on PostgreSQL, hosts with node ids of their own serve side by side
        const other = await startPlatform({ db: first.db, isoPort: 0, httpPort: 0, hostname: '127.0.0.1', lmkFile: join(dir, 'lmk.key'), config: { nodeId: '1' } });
        await other.close();
      }
    } finally {
      await first.platform.close();
    }
    const after = await second();
    await after.close();
  });

  it('takes over a lease whose holder is gone, and refuses one whose holder lives', async () => {
    if (engine === 'postgres' && !(await postgresReachable())) return;
    const store = await openTestStore(engine);
    const node = engine === 'sqlite' ? '*' : '7';
    const lease = (row: { hostname: string; pid: number; renewed_at: number }) =>
      store.db
        .insertInto('host_leases')
        .values({ node, holder: `${row.hostname}:${row.pid}:x`, started_at: row.renewed_at, ...row })
        .onConflict((oc) => oc.column('node').doUpdateSet({ holder: `${row.hostname}:${row.pid}:x`, ...row }))
        .execute();
    const claim = () => claimNodeLease(store, '7', () => undefined);
    try {
      // a host of this machine whose process is gone (it crashed): taken over at once
      await lease({ hostname: hostname(), pid: deadPid(), renewed_at: Date.now() });
      await (await claim()).release();
      // an earlier run with this very pid (a container's pid 1, restarted): taken over at once too
      await lease({ hostname: hostname(), pid: process.pid, renewed_at: Date.now() });
      await (await claim()).release();
      // a host elsewhere, renewing: refused; silent for longer than LEASE_STALE_MS: taken over
      await lease({ hostname: 'till-3.example', pid: 4242, renewed_at: Date.now() });
      await expect(claim()).rejects.toThrow(/till-3\.example, pid 4242/);
      await lease({ hostname: 'till-3.example', pid: 4242, renewed_at: Date.now() - LEASE_STALE_MS - 1_000 });
      const taken = await claim();
      const row = await store.db.selectFrom('host_leases').selectAll().where('node', '=', node).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ hostname: hostname(), pid: process.pid });
      await taken.release();
      expect(await store.db.selectFrom('host_leases').selectAll().execute()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('tells its host when another took the lease over', async () => {
    if (engine === 'postgres' && !(await postgresReachable())) return;
    const store = await openTestStore(engine);
    try {
      const lost: string[] = [];
      const lease = await claimNodeLease(store, '3', (m) => lost.push(m), { renewMs: 20 });
      await store.db.updateTable('host_leases').set({ holder: 'till-9.example:1:y', hostname: 'till-9.example', pid: 1 }).execute();
      for (let i = 0; i < 100 && lost.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(lost[0]).toMatch(/taken over by another host/);
      await lease.release();
      // its release leaves the new holder's lease alone
      expect((await store.db.selectFrom('host_leases').select('hostname').execute()).map((r) => r.hostname)).toEqual(['till-9.example']);
    } finally {
      await store.close();
    }
  });
});

describe('posgate serve and its lease', () => {
  it('a second posgate serve on the same SQLite file exits 2 saying another host serves it; a bad --node-id exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'posgate-lease-cli-'));
    const p = await startTestPlatform('sqlite', { dir });
    try {
      const second = await posgateBinaryAsync(['serve', '--db', p.db, '--lmk-file', join(dir, 'lmk.key'), '--iso-port', '0', '--http-port', '0', '--host', '127.0.0.1']);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/this database is served by another posgate host \(.*, pid \d+, renewed \d+ s ago\): stop it first/);
    } finally {
      await p.close();
    }
    const bad = await posgateBinaryAsync(['serve', '--db', join(dir, 'x.db'), '--node-id', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--node-id is one character 0-9 or A-Z/);
  });
});
