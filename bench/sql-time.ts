/**
 * `npm run bench:sql`: what the SQLite statements of a sale cost the host's main thread. The host
 * runs under the benchmark load with every statement timed (bench/sql-timer.ts, preloaded); over
 * the measured window this prints, per committed sale, the time of each statement (COMMIT among
 * them) beside the host's CPU per sale, so that the share of the database in a sale, and which
 * statement it is, can be read off one run. better-sqlite3 runs statements on the JavaScript
 * thread, so their time is main-thread time. Terminals: BENCH_TERMINALS (64), seconds:
 * BENCH_SECONDS (8).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoadMeasuringHost, spawnHost, storeCommitted } from '../src/loadgen/index.js';

const terminals = Number(process.env.BENCH_TERMINALS ?? 64);
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const here = dirname(fileURLToPath(import.meta.url));

interface Timed {
  readonly sql: string;
  readonly calls: number;
  readonly ns: number;
}

const dir = mkdtempSync(join(tmpdir(), 'posgate-sql-'));
const timesFile = join(dir, 'times.json');
const preload = join(here, 'sql-timer.js');
const host = await spawnHost(['--demo', '--demo-terminals', String(terminals), '--db', `sqlite:${join(dir, 'bench.db')}`], {
  env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${JSON.stringify(preload)}`.trim(), POSGATE_SQL_TIMES_FILE: timesFile },
});
let from: Promise<number> | undefined;
let report;
let sales = NaN;
try {
  report = await runLoadMeasuringHost(host, {
    terminals,
    durationMs: seconds * 1000,
    onProgress: (p) => {
      if (p.elapsedMs === 0 || from) return;
      host.child.kill('SIGUSR2');
      from = storeCommitted(host.httpPort).then((c) => c.units);
    },
  });
  host.child.kill('SIGUSR1');
  const units = (await storeCommitted(host.httpPort)).units;
  sales = units - ((await from) ?? NaN);
  for (let i = 0; i < 50 && !existsSync(timesFile); i++) await new Promise((r) => setTimeout(r, 100));
} finally {
  await host.stop();
}
if (!existsSync(timesFile)) throw new Error('the host wrote no statement times');
if (!(sales > 0)) throw new Error('no sale was committed in the measured window');
const timed = (JSON.parse(readFileSync(timesFile, 'utf8')) as Timed[]).sort((a, b) => b.ns - a.ns);
const totalUs = timed.reduce((sum, t) => sum + t.ns, 0) / 1000;
const cpu = report.hostCpuPerSaleUs;
const perSale = (us: number) => (us / sales).toFixed(1);
console.log(`posgate SQL time per sale: SQLite, ${terminals} terminals doing PIN sales, ${Math.round(report.perSecond).toLocaleString('en-US')} sales/s over ${seconds} s`);
console.log(
  `SQLite statements ${perSale(totalUs)} µs per sale` +
    (cpu ? ` of the host's ${cpu.all.toFixed(0)} µs CPU per sale, ${cpu.main.toFixed(0)} µs of it on the main thread (${((100 * totalUs) / sales / cpu.main).toFixed(0)} %)` : ''),
);
console.log(`  µs/sale  calls/sale  µs/call  statement`);
for (const t of timed) {
  const us = t.ns / 1000;
  if (us / sales < 0.05) continue;
  const text = t.sql.replace(/\s+/g, ' ');
  console.log(`${perSale(us).padStart(9)}  ${(t.calls / sales).toFixed(2).padStart(10)}  ${(us / t.calls).toFixed(1).padStart(7)}  ${text.length > 90 ? `${text.slice(0, 87)}...` : text}`);
}
