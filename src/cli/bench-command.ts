import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { LoadError, runLoad, runLoadMeasuringHost, spawnHost, type LoadProgress, type MeasuredLoadReport, type SpawnedHost } from '../loadgen/index.js';
import { emit, UsageError, type Io } from './output.js';

type Run = (action: () => Promise<void> | void, json: () => boolean) => Promise<void>;

function bar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function reportLines(r: MeasuredLoadReport, where: string): string[] {
  const errors = Object.entries(r.errors);
  return [
    `posgate bench: ${r.terminals} terminals, ${(r.durationMs / 1000).toFixed(0)} s of PIN sales with MAC against ${where}`,
    `  throughput   ${Math.round(r.perSecond).toLocaleString('en-US')} approved sales/s (${r.approved.toLocaleString('en-US')} of ${r.requests.toLocaleString('en-US')} requests)`,
    `  latency      p50 ${r.latencyMs.p50.toFixed(2)} ms   p95 ${r.latencyMs.p95.toFixed(2)} ms   p99 ${r.latencyMs.p99.toFixed(2)} ms   max ${r.latencyMs.max.toFixed(1)} ms`,
    ...(r.hostCpuPerSaleUs ? [`  host CPU     ${r.hostCpuPerSaleUs.all.toFixed(0)} µs per sale, of which the main thread ${r.hostCpuPerSaleUs.main.toFixed(0)} µs`] : []),
    ...(r.machine ? [`  machine      load generator ${r.machine.loadGeneratorUs.toFixed(0)} µs per sale; ${r.machine.idlePercent.toFixed(0)} % of the cores idle`] : []),
    `  errors       ${errors.length === 0 ? 'none' : errors.map(([k, v]) => `${k}: ${v}`).join(', ')}`,
  ];
}

export function benchCommand(io: Io, run: Run): Command {
  return new Command('bench')
    .description('load generator: N software terminals doing PIN sales with MAC against a host')
    .option('--terminals <n>', 'concurrent terminals, each on a long-lived connection', '64')
    .option('--duration <s>', 'seconds to measure (after a 1 s warm-up)', '10')
    .option('--db <url>', 'database for the host this command starts (default: a fresh SQLite file)')
    .option('--target <host:port>', 'drive an already running host (started with --demo --demo-terminals ≥ N) instead')
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(async () => {
        const terminals = Number(o.terminals);
        const seconds = Number(o.duration);
        if (!Number.isInteger(terminals) || terminals < 1 || terminals > 20_000) throw new UsageError('invalid_count', '--terminals must be 1 to 20000');
        if (!(seconds > 0 && seconds <= 3600)) throw new UsageError('invalid_duration', '--duration must be 1 to 3600 seconds');
        let host = '127.0.0.1';
        let port: number;
        let stop: (() => Promise<unknown>) | undefined;
        let started: SpawnedHost | undefined;
        let where: string;
        if (o.target) {
          const m = /^(.+):(\d+)$/.exec(o.target);
          if (!m) throw new UsageError('invalid_target', '--target is host:port');
          host = m[1]!;
          port = Number(m[2]);
          where = o.target;
        } else {
          const dir = mkdtempSync(join(tmpdir(), 'posgate-bench-'));
          const db = o.db ?? `sqlite:${join(dir, 'bench.db')}`;
          // A PostgreSQL database has no key file beside it: unless POSGATE_LMK is set, the bench makes one.
          const extra: string[] = [];
          if (db.startsWith('postgres') && !process.env.POSGATE_LMK) {
            const lmk = join(dir, 'bench.lmk');
            writeFileSync(lmk, randomBytes(32).toString('hex'), { mode: 0o600 });
            extra.push('--lmk-file', lmk);
          }
          io.err(`starting posgate serve --demo --demo-terminals ${terminals} --db ${db.replace(/:\/\/[^@]*@/, '://***@')}`);
          const spawned = await spawnHost(['--demo', '--demo-terminals', String(terminals), '--db', db, ...extra]);
          started = spawned;
          port = spawned.isoPort;
          stop = () => spawned.stop();
          where = `a host on ${db.startsWith('postgres') ? 'PostgreSQL' : 'SQLite'} (child process)`;
        }
        try {
          const load = {
            terminals,
            durationMs: seconds * 1000,
            ...(o.json
              ? {}
              : { onProgress: (p: LoadProgress) => process.stderr.write(`\r${bar(p.elapsedMs / (seconds * 1000))} ${(p.elapsedMs / 1000).toFixed(0).padStart(3)}/${seconds} s  ${Math.round(p.perSecond).toLocaleString('en-US').padStart(7)} sales/s  errors ${p.errors}   `) }),
          };
          // a host this command started is also measured: its CPU per sale
          const report: MeasuredLoadReport = started ? await runLoadMeasuringHost(started, load) : await runLoad({ host, port, ...load });
          if (!o.json) process.stderr.write('\n');
          emit(io, o.json, report, () => reportLines(report, where));
        } catch (err) {
          // no host there, or one without enough demo terminals: what the user asked for cannot run
          if (err instanceof LoadError) throw new UsageError('load_refused', err.message);
          throw err;
        } finally {
          await stop?.();
        }
      }, () => o.json),
    );
}
