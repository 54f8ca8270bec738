import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEMO_MID, demoTid, demoTmk, LOAD_TEST_PIN, loadTestCard } from '../../src/demo/seed.js';
import { ACCOUNTS, balanceOf, verifyLedger } from '../../src/ledger/index.js';
import { runLoad } from '../../src/loadgen/index.js';
import { MemoryStorage, SoftTerminal } from '../../src/terminal/index.js';
import { posgate } from '../cli/run-cli.js';
import { platformFor } from '../support/platform.js';

const BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

describe('the load generator', () => {
  const platform = platformFor('sqlite', { terminals: 4 });
  const terminal = (i: number, port: number) => {
    const t = new SoftTerminal({ tid: demoTid(i), mid: DEMO_MID, endpoint: { host: '127.0.0.1', port }, storage: new MemoryStorage(), keepBatchLog: false, responseTimeoutMs: 5_000, echoIdleMs: 0 });
    t.injectTmk(demoTmk(demoTid(i)));
    return t;
  };

  it('a repeated sale is a real PIN sale each time: new STAN, new MAC, approved, one posting each', async () => {
    const p = platform();
    if (!p) return;
    const t = terminal(0, p.platform.iso.port);
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
    const t = terminal(1, p.platform.iso.port);
    await t.signIn();
    t.injectWorkingKeys({ pik: '0123456789ABCDEFFEDCBA9876543210', mak: '0123456789ABCDEF' });
    const sale = t.repeatedSale({ entry: 'swipe', ...loadTestCard(1) }, 250, LOAD_TEST_PIN);
    expect(await sale()).not.toBe('00');
    t.close();
  });

  it('runLoad reports throughput, latency percentiles and errors', async () => {
    const p = platform();
    if (!p) return;
    const report = await runLoad({ host: '127.0.0.1', port: p.platform.iso.port, terminals: 2, durationMs: 600, warmupMs: 100 });
    expect(report.approved).toBeGreaterThan(0);
    expect(report.requests).toBe(report.approved);
    expect(report.errors).toEqual({});
    expect(report.latencyMs.p50).toBeGreaterThan(0);
    expect(report.latencyMs.p50).toBeLessThanOrEqual(report.latencyMs.p99);
    expect(report.perSecond).toBeCloseTo((report.approved * 1000) / 600, 5);
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

  it('posgate bench shows a progress bar on the terminal while it runs', async () => {
    const p = platform();
    if (!p) return;
    // the built binary in a child process (the host it drives runs in this one)
    const child = spawn(process.execPath, [BIN, 'bench', '--terminals', '2', '--duration', '2', '--target', `127.0.0.1:${p.platform.iso.port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const r = { stdout: '', stderr: '', code: -1 };
    child.stdout.on('data', (c: Buffer) => (r.stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (r.stderr += c.toString('utf8')));
    r.code = await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[#+\.*\] +\d\/2 s +[\d,]+ sales\/s +errors 0/);
    expect(r.stdout).toMatch(/throughput/);
  });
});
