import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { demoTid, demoTmk, DEMO_MID, loadTestCard } from '../../src/demo/seed.js';
import { ACCOUNTS, balanceOf } from '../../src/ledger/index.js';
import { spawnHost } from '../../src/loadgen/index.js';
import { openStore } from '../../src/store/index.js';
import { MemoryStorage, SoftTerminal } from '../../src/terminal/index.js';
import { ENGINES, freshPostgresSchema, postgresReachable } from '../support/stores.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

describe.each(ENGINES)('a host on %s killed with SIGKILL in the middle of a load', (engine) => {
  it('keeps every approval a terminal received exactly once, and moves nothing else', async () => {
    if (engine === 'postgres' && !(await postgresReachable())) return;
    const dir = mkdtempSync(join(tmpdir(), 'posgate-crash-'));
    let db = join(dir, 'posgate.db');
    let dropSchema: (() => Promise<void>) | undefined;
    if (engine === 'postgres') {
      const schema = await freshPostgresSchema('crash');
      db = schema.url;
      dropSchema = schema.drop;
    }
    const lmk = join(dir, 'lmk.key');
    writeFileSync(lmk, randomBytes(32).toString('hex'), { mode: 0o600 });
    const args = ['--demo', '--demo-terminals', '8', '--db', db, '--lmk-file', lmk];
    const first = await spawnHost(args);
    const storages = Array.from({ length: 8 }, () => new MemoryStorage());
    const terminalsOn = (port: number) =>
      storages.map((storage, i) => {
        const t = new SoftTerminal({ tid: demoTid(i), mid: DEMO_MID, endpoint: { host: '127.0.0.1', port }, storage, responseTimeoutMs: 1_500, keepBatchLog: false });
        if (!t.hasTmk) t.injectTmk(demoTmk(demoTid(i)));
        return t;
      });
    const before = terminalsOn(first.isoPort);
    await Promise.all(before.map((t) => t.signIn()));

    const received: { tid: string; stan: string; amount: number }[] = [];
    let stop = false;
    const loops = before.map(async (t, i) => {
      let amount = 100 + i;
      while (!stop) {
        const r = await t.sale({ entry: 'swipe', ...loadTestCard(i) }, amount, '123456').catch(() => undefined);
        if (r?.approved) received.push({ tid: t.tid, stan: r.stan, amount });
        if (!r || r.problem) break; // the host is gone: this terminal now holds a pending reversal
        amount += 8;
      }
    });
    await new Promise((r) => setTimeout(r, 1_500));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    stop = true;
    await Promise.all(loops);
    for (const t of before) t.close();
    expect(received.length).toBeGreaterThan(100);

    // Restart on the same database; the terminals send their pending reversals first, as they must.
    const second = await spawnHost(args);
    try {
      const after = terminalsOn(second.isoPort);
      for (const t of after) expect(await t.flushReversal()).toBe(true);
      for (const t of after) t.close();
    } finally {
      await second.stop();
    }

    const verify = spawnSync(process.execPath, [CLI, 'ledger', 'verify', '--db', db, '--json'], { encoding: 'utf8' });
    expect(verify.status).toBe(0);
    expect(JSON.parse(verify.stdout).ok).toBe(true);

    const store = await openStore(db);
    try {
      const approved = await store.db
        .selectFrom('transactions')
        .innerJoin('terminals', 'terminals.id', 'transactions.terminal_id')
        .select(['terminals.tid', 'transactions.stan', 'transactions.amount_fen'])
        .where('transactions.type', '=', '22')
        .where('transactions.status', '=', 'approved')
        .execute();
      const key = (x: { tid: string; stan: string }) => `${x.tid}/${x.stan}`;
      expect(approved.map(key).sort()).toEqual(received.map(key).sort());
      const total = received.reduce((a, r) => a + r.amount, 0);
      expect(approved.reduce((a, r) => a + r.amount_fen, 0)).toBe(total);
      const merchant = await store.db.selectFrom('merchants').select('id').where('mid', '=', DEMO_MID).executeTakeFirstOrThrow();
      expect(await balanceOf(store.db, ACCOUNTS.merchantPending(merchant.id))).toBe(-total);
      expect(await balanceOf(store.db, ACCOUNTS.cardFunds)).toBe(total);
    } finally {
      await store.close();
      await dropSchema?.();
    }
  }, 60_000);
});
