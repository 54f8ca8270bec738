import { describe, expect, it } from 'vitest';
import { demoTid, LOAD_TEST_PIN, loadTestCard } from '../../src/demo/seed.js';
import { ACCOUNTS, balanceOf, verifyLedger } from '../../src/ledger/index.js';
import { runLoad } from '../../src/loadgen/index.js';
import { posgate, posgateBinaryAsync } from '../cli/run-cli.js';
import { platformFor } from '../support/platform.js';

describe('the load generator', () => {
  const platform = platformFor('sqlite', { terminals: 4 });
  const terminal = (i: number) => platform()!.terminal(i, { keepBatchLog: false, echoIdleMs: 0 });

  it('a repeated sale is a real PIN sale each time: new STAN, new MAC, approved, one posting each', async () => {
    const p = platform();
    if (!p) return;
    const t = terminal(0);
    await t.signIn();
    const pending = () => balanceOf(p.platform.store.db, ACCOUNTS.merchantPending(p.platform.seeded!.merchantId));
    const before = await pending();
    const sale = t.repeatedSale({ entry: 'swipe', ...loadTestCard(0) }, 250, LOAD_TEST_PIN);
    const codes: string[] = [];
    for (let i = 0; i < 20; i++) codes.push(await sale());
    expect(codes).toEqual(Array(20).fill('00'));
    expect(await pending()).toBe(before - 20 * 250);
    const rows = await p.platform.store.db.selectFrom('transactions').select('stan').where('amount_fen', '=', 250).execute();
    expect(new Set(rows.map((r) => r.stan)).size).toBe(20);
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);
    t.close();
  });

  it('a repeated sale MACed with the wrong key is not approved', async () => {
    const p = platform();
    if (!p) return;
    const t = terminal(1);
    await t.signIn();
    t.injectWorkingKeys({ pik: '0123456789ABCDEFFEDCBA9876543210', mak: '0123456789ABCDEF' });
    const sale = t.repeatedSale({ entry: 'swipe', ...loadTestCard(1) }, 250, LOAD_TEST_PIN);
    expect(await sale()).not.toBe('00');
    t.close();
  });

  it('runLoad reports throughput, latency percentiles and errors; a run after another is no duplicate of it', async () => {
    const p = platform();
    if (!p) return;
    const batchOf = async (i: number) => (await p.platform.store.db.selectFrom('terminals').select('open_batch').where('tid', '=', demoTid(i)).executeTakeFirstOrThrow()).open_batch;
    // terminal 0 sold in the first test; the load's terminals start again at STAN 1, with no warm-up to hide behind
    for (const run of [1, 2]) {
      const before = [await batchOf(0), await batchOf(1)];
      const report = await runLoad({ host: '127.0.0.1', port: p.platform.iso.port, terminals: 2, durationMs: 400, warmupMs: 0 });
      expect(report.approved, `run ${run}`).toBeGreaterThan(0);
      expect(report.errors, `run ${run}`).toEqual({});
      expect(report.requests).toBe(report.approved);
      expect(report.latencyMs.p50).toBeGreaterThan(0);
      expect(report.latencyMs.p50).toBeLessThanOrEqual(report.latencyMs.p99);
      expect(report.perSecond).toBeCloseTo((report.approved * 1000) / 400, 5);
      expect([await batchOf(0), await batchOf(1)]).toEqual(before.map((b) => b + 1));
    }
  });

  it('runLoad settles a terminal whose next STAN would wrap (999,999 to 000001) and sells on in the next batch', async () => {
    const p = platform();
    if (!p) return;
    const db = p.platform.store.db;
    const terminalOf = (i: number) => db.selectFrom('terminals').select(['id', 'open_batch']).where('tid', '=', demoTid(i)).executeTakeFirstOrThrow();
    const before = await terminalOf(0);
    const report = await runLoad({ host: '127.0.0.1', port: p.platform.iso.port, terminals: 1, durationMs: 1_000, warmupMs: 0, settleAfterStan: 40 });
    expect(report.errors).toEqual({});
    // the first STANs sign in and settle what earlier tests left, then sales up to 40; the settlement (with its batch upload) follows, and the sales after it are in the next batch
    const after = await terminalOf(0);
    expect(after.open_batch).toBe(before.open_batch + 2);
    const sold = (batch: number) => db.selectFrom('transactions').select('stan').where('terminal_id', '=', after.id).where('batch', '=', batch).orderBy('stan').execute();
    const first = (await sold(before.open_batch + 1)).map((r) => Number(r.stan));
    expect(first.at(-1)).toBe(40);
    expect(first).toEqual(Array.from({ length: first.length }, (_, k) => 41 - first.length + k));
    const second = await sold(after.open_batch);
    expect(second.length).toBe(report.approved - first.length);
    expect(Number(second[0]!.stan)).toBeGreaterThan(41);
  });

  it('posgate bench against a running host prints its figures, or one JSON object', async () => {
    const p = platform();
    if (!p) return;
    const text = await posgate(['bench', '--terminals', '2', '--duration', '1', '--target', `127.0.0.1:${p.platform.iso.port}`]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/throughput +[\d,]+ approved sales\/s/);
    expect(text.stdout).toMatch(/latency +p50 [\d.]+ ms +p95 [\d.]+ ms +p99 [\d.]+ ms/);
    expect(text.stdout).toMatch(/errors +none/);
    const json = await posgate(['bench', '--terminals', '2', '--duration', '1', '--json', '--target', `127.0.0.1:${p.platform.iso.port}`]);
    expect(json.json()).toMatchObject({ terminals: 2, errors: {} });
    expect(await posgate(['bench', '--terminals', '0'])).toMatchObject({ code: 2 });
  });

  it('posgate bench says why it cannot run: more terminals than the host has, or no host at all (exit 2)', async () => {
    const p = platform();
    if (!p) return;
    const tooMany = await posgate(['bench', '--terminals', '6', '--duration', '1', '--json', '--target', `127.0.0.1:${p.platform.iso.port}`]);
    expect(tooMany.code).toBe(2);
    expect(tooMany.json()).toMatchObject({ error: { code: 'load_refused', message: expect.stringMatching(/terminal 30000005 could not sign in \(response code 97\).*--demo-terminals 6/) } });
    const nobody = await posgate(['bench', '--terminals', '1', '--duration', '1', '--json', '--target', '127.0.0.1:1']);
    expect(nobody.code).toBe(2);
    expect(nobody.json()).toMatchObject({ error: { code: 'load_refused', message: expect.stringMatching(/could not sign in at 127\.0\.0\.1:1.*is the host running/) } });
  });

  it('posgate bench shows a progress bar on the terminal while it runs', async () => {
    const p = platform();
    if (!p) return;
    // the built binary in a child process (the host it drives runs in this one)
    const r = await posgateBinaryAsync(['bench', '--terminals', '2', '--duration', '2', '--target', `127.0.0.1:${p.platform.iso.port}`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[#+\.*\] +\d\/2 s +[\d,]+ sales\/s +errors 0/);
    expect(r.stdout).toMatch(/throughput/);
  });

  it('posgate bench with a host of its own also gives that host\'s CPU per sale, the load generator\'s, and how idle the machine was', async () => {
    const r = await posgateBinaryAsync(['bench', '--terminals', '2', '--duration', '2', '--json']);
    expect(r.code).toBe(0);
    const report = r.json<{ approved: number; hostCpuPerSaleUs?: { all: number; main: number }; machine?: { loadGeneratorUs: number; idlePercent: number } }>();
    expect(report.approved).toBeGreaterThan(0);
    if (process.platform !== 'linux') return; // read from /proc
    expect(report.hostCpuPerSaleUs!.main).toBeGreaterThan(0);
    expect(report.hostCpuPerSaleUs!.all).toBeGreaterThanOrEqual(report.hostCpuPerSaleUs!.main);
    expect(report.machine!.loadGeneratorUs).toBeGreaterThan(0);
    expect(report.machine!.idlePercent).toBeGreaterThanOrEqual(0);
    expect(report.machine!.idlePercent).toBeLessThanOrEqual(100);
  }, 60_000);
});
