/**
 * `npm run bench:sql`: what the SQLite statements of a sale cost the host's main thread. The host
 * runs under the benchmark load with every statement timed (bench/sql-timer.ts, preloaded); over
 * the measured window this prints, per committed sale, the time of each statement (COMMIT among
 * them) beside the host's CPU per sale, so that the share of the database in a sale, and which
 * statement it is, can be read off one run. better-sqlite3 runs statements on the JavaScript
 * thread, so their time is main-thread time. Terminals: BENCH_TERMINALS (64), seconds:
 * BENCH_SECONDS (8).
 */
import { runProbedHost, seconds, terminals } from './probed-host.js';

interface Timed {
  readonly sql: string;
  readonly calls: number;
  readonly ns: number;
}

const { report, sales, probed } = await runProbedHost('sql-timer.js', 'POSGATE_SQL_TIMES_FILE', 'times.json');
const timed = (JSON.parse(probed) as Timed[]).sort((a, b) => b.ns - a.ns);
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
