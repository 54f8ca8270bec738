import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { startPlatform } from '../../src/platform/platform.js';
import { spawnHost } from '../../src/loadgen/index.js';
import { startTestPlatform } from '../support/platform.js';
import { freshPostgresSchema, postgresReachable } from '../support/stores.js';
import { posgateBinaryAsync } from '../cli/run-cli.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('the platform: demo seeding, restarts, health and metrics', () => {
  it('posgate serve --demo says how to be a POS, and the cashier it names signs in with the password it prints', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'posgate-banner-'));
    const host = await spawnHost(['--demo', '--db', join(dir, 'posgate.db')]);
    try {
      const [, command, cashier, password] = /(npx posgate terminal --demo 1 --port \d+)\s+— a POS at the keyboard \(sign in: cashier (\d\d), password (\d+)\)/.exec(host.banner) ?? [];
      expect(command).toBe(`npx posgate terminal --demo 1 --port ${host.isoPort}`);
      const pos = await posgateBinaryAsync(['terminal', '--demo', '1', '--port', String(host.isoPort), '--state', join(dir, 't.json')], ['1', cashier, password, '0', ''].join('\n'));
      expect(pos.stdout).toContain(`签到成功 signed in, batch 000001, 操作员 operator ${cashier}`);
    } finally {
      await host.stop();
    }
  });

  it('on PostgreSQL the banner never shows the password in --db, and its demo info command runs as printed', async (t) => {
    if (!(await postgresReachable())) return t.skip();
    const schema = await freshPostgresSchema('banner');
    const dir = mkdtempSync(join(tmpdir(), 'posgate-banner-'));
    const lmk = join(dir, 'lmk.key');
    writeFileSync(lmk, `${'7A'.repeat(32)}\n`, { mode: 0o600 });
    // the test server trusts every local connection: the password is taken and never needed
    const db = schema.url.replace('postgres://postgres@', 'postgres://postgres:Banner-Secret-7@');
    const host = await spawnHost(['--demo', '--db', db, '--lmk-file', lmk]);
    try {
      expect(host.banner).not.toContain('Banner-Secret-7');
      const printed = /npx posgate (demo info --db .+?) {3}—/.exec(host.banner)?.[1];
      expect(printed).toContain("--db 'postgres://postgres:***@127.0.0.1");
      // pasted into a shell as printed (the search_path option holds spaces and '='): it reaches the same database
      const run = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" ${printed} --json`], { encoding: 'utf8' });
      expect(run.status).toBe(0);
      expect((JSON.parse(run.stdout) as { terminals: { tid: string }[] }).terminals.map((x) => x.tid)).toEqual(['30000001', '30000002']);
    } finally {
      await host.stop();
      await schema.drop();
    }
  });

  it('starting --demo again on the same database seeds nothing twice and keeps keys, batches and balances', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'posgate-restart-'));
    const first = await startTestPlatform('sqlite', { dir });
    const t = first.terminal(0);
    await t.signIn();
    expect((await t.sale(first.card('6224242900000113'), 4_200, '123456')).rc).toBe('00');
    const snapshot = async (p: typeof first.platform) => ({
      merchants: (await p.store.db.selectFrom('merchants').select('id').execute()).length,
      terminals: await p.store.db.selectFrom('terminals').select(['tid', 'tmk', 'pik', 'open_batch']).orderBy('tid').execute(),
      cards: (await p.store.db.selectFrom('cards').select('id').execute()).length,
      pending: (await p.store.db.selectFrom('accounts').select(['id', 'balance_fen']).orderBy('id').execute()),
    });
    const before = await snapshot(first.platform);
    await first.platform.close();
    const again = await startPlatform({ db: first.db, isoPort: 0, httpPort: 0, hostname: '127.0.0.1', demo: true, demoTerminals: 2, lmkFile: join(dir, 'lmk.key') });
    try {
      expect(again.seeded?.created).toBe(false);
      expect(await snapshot(again)).toEqual(before);
    } finally {
      await again.close();
    }
  });

  it('serves /healthz and Prometheus /metrics on the HTTP port', async () => {
    const p = await startTestPlatform('sqlite');
    try {
      const t = p.terminal(0);
      await t.signIn();
      await t.sale(p.card('6224242900000113'), 100, '123456');
      const health = (await (await fetch(`http://127.0.0.1:${p.platform.httpPort}/healthz`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ status: 'ok', db: 'sqlite', iso_connections: 1 });
      const metrics = await (await fetch(`http://127.0.0.1:${p.platform.httpPort}/metrics`)).text();
      expect(metrics).toMatch(/posgate_iso_requests_total\{kind="sale",rc="00"\} 1/);
      expect(metrics).toContain('posgate_iso_request_seconds_bucket');
      expect(metrics).toMatch(/posgate_store_commits_total \d+/);
      expect(metrics).toMatch(/posgate_store_wal_checkpoints_total \d+/);
      expect(metrics).not.toContain('6224242900000113');
      // a frame that is no ISO 8583 message closes its connection, and is counted once
      const garbage = connect(p.platform.iso.port, '127.0.0.1');
      garbage.end(Buffer.concat([Buffer.from([0x00, 0x20]), Buffer.alloc(0x20, 0x41)]));
      await new Promise((resolve) => garbage.on('close', resolve).resume());
      const after = await (await fetch(`http://127.0.0.1:${p.platform.httpPort}/metrics`)).text();
      expect(after).toMatch(/^posgate_iso_frames_rejected_total\{reason="\w+"\} 1$/m);
      expect(after.match(/^posgate_iso_frames_rejected_total\{/gm)).toHaveLength(1);
      const missing = await fetch(`http://127.0.0.1:${p.platform.httpPort}/no-such-page`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await missing.json()).toMatchObject({ status: 404, code: 'not_found' });
    } finally {
      await p.close();
    }
  });

  it('a failed fsync of the WAL: the sale in doubt gets no answer, /healthz says storage_failed, nothing more runs', async () => {
    const p = await startTestPlatform('sqlite');
    try {
      const t = p.terminal(0);
      await t.signIn();
      expect((await t.sale(p.card('6224242900000113'), 100, '123456')).rc).toBe('00');
      const probe = await open(tmpdir(), 'r');
      const sync = vi.spyOn(Object.getPrototypeOf(probe) as { sync(): Promise<void> }, 'sync').mockRejectedValue(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
      await probe.close();
      try {
        const inDoubt = await t.sale(p.card('6224242900000113'), 200, '123456');
        expect(inDoubt.approved).toBe(false);
        expect(inDoubt.problem).toBe('no_response');
        const health = await fetch(`http://127.0.0.1:${p.platform.httpPort}/healthz`);
        expect(health.status).toBe(503);
        expect(await health.json()).toMatchObject({ status: 'unavailable', reason: 'storage_failed' });
        const metrics = await (await fetch(`http://127.0.0.1:${p.platform.httpPort}/metrics`)).text();
        // the sale, and the reversal the terminal then tried, were both refused without an answer
        expect(metrics).toMatch(/posgate_iso_frames_rejected_total\{reason="storage_failed"\} [1-9]/);
        expect(t.pendingReversal).toBeDefined();
      } finally {
        sync.mockRestore();
      }
    } finally {
      await p.close();
    }
  });

  it('posgate demo info --json and posgate ledger verify read the same database', async () => {
    const p = await startTestPlatform('sqlite');
    const db = p.db;
    const t = p.terminal(0);
    await t.signIn();
    await t.sale(p.card('6224242900000113'), 1_234, '123456');
    await p.close();
    const info = cli('demo', 'info', '--db', db, '--json');
    expect(info.status).toBe(0);
    const parsed = JSON.parse(info.stdout) as { terminals: { tid: string; tmk: string; operators: unknown[] }[]; cards: { pan: string; expect: string; track2: string }[] };
    expect(parsed.terminals.map((x) => x.tid)).toEqual(['30000001', '30000002']);
    expect(parsed.terminals[0]!.tmk).toBe('CA5D92598DCA48CE8A4C76361A9269E9');
    expect(parsed.cards.map((c) => c.expect)).toEqual(['00', '51', '55', '75', '41', '43', '54', '00', '62', '14', '05']);
    expect(parsed.cards.map((c) => c.track2.slice(16, 24))).toContain('=2812101');
    expect(parsed.cards[0]!.track2).toBe('6224242900000113=2812101000000000'); // the protocol's §12 example card
    expect(cli('demo', 'info', '--db', db).stdout).toMatch(/stripe 6224242900000204=2812101\d{3}000000/);
    const verify = cli('ledger', 'verify', '--db', db, '--json');
    expect(verify.status).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, postings: 1, totals: { card_funds: 1_234 }, merchants: { pendingFen: -1_234, availableFen: 0 } });
    const text = cli('ledger', 'verify', '--db', db);
    expect(text.stdout).toContain('ledger OK');
    // what the card issuers owe for the sale is what the merchant is owed, not yet settled
    expect(text.stdout).toMatch(/card_funds\s+12\.34\n/);
    expect(text.stdout).toMatch(/merchants_pending\s+-12\.34\n/);
  });

  it('ledger verify exits non-zero when a balance was tampered with', async () => {
    const p = await startTestPlatform('sqlite');
    const t = p.terminal(0);
    await t.signIn();
    await t.sale(p.card('6224242900000113'), 500, '123456');
    await p.platform.store.db.updateTable('accounts').set({ balance_fen: 1 }).where('id', '=', 'card_funds').execute();
    const db = p.db;
    await p.close();
    const verify = cli('ledger', 'verify', '--db', db, '--json');
    expect(verify.status).toBe(1);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: false, accountMismatches: [{ account: 'card_funds', balanceFen: 1, linesFen: 500 }] });
  });

  it('audit verify: the day\'s sign-in and operator checks hold under the LMK; an entry changed afterwards is found (exit 1); no LMK, exit 2', async () => {
    const p = await startTestPlatform('sqlite');
    const t = p.terminal(0);
    await t.signIn();
    expect(await t.verifyOperator('01', '2580')).toBe('00');
    expect(await t.verifyOperator('01', '9999')).toBe('55');
    const db = p.db;
    const lmk = join(p.platform.store.file!, '..', 'lmk.key');
    const first = await p.platform.store.db.selectFrom('audit_events').select('id').where('action', '=', 'operator.verify').orderBy('id').executeTakeFirstOrThrow();
    await p.close();
    const ok = cli('audit', 'verify', '--db', db, '--lmk-file', lmk, '--json');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ ok: true, events: 3 });
    expect(cli('audit', 'verify', '--db', db, '--lmk-file', lmk).stdout).toContain('audit log OK: 3 entries');

    // someone turns the successful check into a failed one, straight in the database
    const { openStore } = await import('../../src/store/index.js');
    const store = await openStore(db);
    await store.db.updateTable('audit_events').set({ outcome: 'failure' }).where('id', '=', first.id).execute();
    await store.close();
    const broken = cli('audit', 'verify', '--db', db, '--lmk-file', lmk, '--json');
    expect(broken.status).toBe(1);
    expect(JSON.parse(broken.stdout)).toEqual({ ok: false, events: 3, brokenAt: first.id });

    const noKey = cli('audit', 'verify', '--db', db, '--json');
    expect(noKey.status).toBe(2);
    expect(JSON.parse(noKey.stdout)).toMatchObject({ error: { code: 'no_lmk' } });
  });

  it('ledger verify and demo info on a mistyped path say so (exit 2) and create nothing', () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'posgate-missing-')), 'typo.db');
    for (const args of [['ledger', 'verify'], ['demo', 'info']]) {
      const r = cli(...args, '--db', missing, '--json');
      expect(r.status).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'no_database' } });
    }
    expect(existsSync(missing)).toBe(false);
  });

  it('the built posgate command runs by itself, as npx posgate runs it (executable, with its shebang)', () => {
    const r = spawnSync(CLI, ['--help'], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: posgate');
  });

  it('posgate serve refuses bad options with exit 2', () => {
    expect(cli('serve', '--iso-port', '99999').status).toBe(2);
    expect(cli('serve', '--demo-terminals', '0').status).toBe(2);
  });
});
