/**
 * `npm run bench:host`: the acquiring host under load, on SQLite and on PostgreSQL, each beside a
 * null host (a reflector) measured in the same run, so that the figures mean something on a shared,
 * noisy machine. Every approval is durable before its reply. Beneath each host's line: its CPU time
 * per sale over the measured window (from /proc, all threads and the main thread alone): the figure
 * that says what a change to the host costs or saves, whatever else the machine was doing. Terminals: BENCH_TERMINALS (64),
 * seconds: BENCH_SECONDS (10). PostgreSQL: POSGATE_BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/test).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runLoad, runLoadMeasuringHost, spawnHost, type LoadReport, type MeasuredLoadReport } from '../src/loadgen/index.js';
import { benchSettings } from './settings.js';

const { terminals, seconds } = benchSettings(10);
const pgUrl = process.env.POSGATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const here = dirname(fileURLToPath(import.meta.url));

function line(name: string, r: LoadReport, reference?: LoadReport): string {
  const ratio = reference ? `  ${((100 * r.perSecond) / reference.perSecond).toFixed(1).padStart(5)} % of the null host` : '';
  const errors = Object.keys(r.errors).length ? `  errors ${JSON.stringify(r.errors)}` : '';
  return `${name.padEnd(40)} ${Math.round(r.perSecond).toLocaleString('en-US').padStart(8)} /s  p50 ${r.latencyMs.p50.toFixed(2)} ms  p95 ${r.latencyMs.p95.toFixed(2)} ms  p99 ${r.latencyMs.p99.toFixed(2)} ms${ratio}${errors}`;
}

async function nullHost(): Promise<LoadReport> {
  // The reflector runs in a process of its own, like the host does.
  const child = spawn(process.execPath, [join(here, '..', 'src', 'loadgen', 'reflector.js'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout.on('data', (c: Buffer) => resolve(Number(/reflector on (\d+)/.exec(c.toString())![1]))));
  try {
    return await runLoad({ host: '127.0.0.1', port, terminals, durationMs: seconds * 1000, reflector: true });
  } finally {
    child.kill();
  }
}

async function realHost(db: string, extra: string[] = []): Promise<MeasuredLoadReport> {
  const host = await spawnHost(['--demo', '--demo-terminals', String(terminals), '--db', db, ...extra]);
  try {
    return await runLoadMeasuringHost(host, { terminals, durationMs: seconds * 1000 });
  } finally {
    await host.stop();
  }
}

function cpuLine(r: MeasuredLoadReport): string {
  if (!r.hostCpuPerSaleUs) return '';
  const machine = r.machine ? `; load generator ${r.machine.loadGeneratorUs.toFixed(0)} µs; machine idle ${r.machine.idlePercent.toFixed(0)} %` : '';
  return `${''.padEnd(40)} host CPU per sale ${r.hostCpuPerSaleUs.all.toFixed(0)} µs, of which the main thread ${r.hostCpuPerSaleUs.main.toFixed(0)} µs${machine}`;
}

console.log(`posgate host benchmark: ${terminals} terminals on long-lived connections, PIN sales with MAC, ${seconds} s each, Node ${process.version}, ${availableParallelism()} cores shared by host and load generator`);
const dir = mkdtempSync(join(tmpdir(), 'posgate-bench-'));
const reference = await nullHost();
console.log(line('null host (reflector)', reference));
const sqlite = await realHost(`sqlite:${join(dir, 'bench.db')}`);
console.log(line('posgate on SQLite (WAL, fsync per reply)', sqlite, reference));
console.log(cpuLine(sqlite));

let pgReport: MeasuredLoadReport | undefined;
const schema = `bench_${randomBytes(4).toString('hex')}`;
try {
  const admin = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const lmk = join(dir, 'pg.lmk');
  writeFileSync(lmk, randomBytes(32).toString('hex'), { mode: 0o600 });
  pgReport = await realHost(`${pgUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, ['--lmk-file', lmk]);
  console.log(line('posgate on PostgreSQL', pgReport, reference));
  console.log(cpuLine(pgReport).replace('host CPU per sale', 'host CPU per sale (PostgreSQL server not counted)'));
} catch (err) {
  console.log(`posgate on PostgreSQL: not measured (${(err as Error).message})`);
} finally {
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect().then(() => admin.query(`drop schema if exists ${schema} cascade`)).then(() => admin.end(), () => undefined);
}
