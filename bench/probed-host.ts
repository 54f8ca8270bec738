/**
 * A host under the benchmark load with a probe preloaded into it (NODE_OPTIONS=--import): the probe
 * starts measuring at a first SIGUSR2, sent once the warm-up is over, and at a second, sent when
 * the load ends, writes what it measured to the file named by `fileVariable`. Used by bench:sql and
 * bench:profile. Terminals: BENCH_TERMINALS (64), seconds: BENCH_SECONDS (8).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoadMeasuringHost, spawnHost, storeCommitted, type MeasuredLoadReport } from '../src/loadgen/index.js';
import { benchSettings } from './settings.js';

export const { terminals, seconds } = benchSettings(8);
const here = dirname(fileURLToPath(import.meta.url));

export interface ProbedRun {
  readonly report: MeasuredLoadReport;
  /** sales the host committed between the two signals */
  readonly sales: number;
  /** what the probe wrote */
  readonly probed: string;
  readonly probedFile: string;
}

/** `probe`: the preload's file name beside this one (built); `fileVariable`: the environment variable that names its output file. */
export async function runProbedHost(probe: string, fileVariable: string, fileName: string): Promise<ProbedRun> {
  const dir = mkdtempSync(join(tmpdir(), 'posgate-probed-'));
  const probedFile = join(dir, fileName);
  const host = await spawnHost(['--demo', '--demo-terminals', String(terminals), '--db', `sqlite:${join(dir, 'bench.db')}`], {
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${JSON.stringify(join(here, probe))}`.trim(), [fileVariable]: probedFile },
  });
  let from: Promise<number> | undefined;
  let report: MeasuredLoadReport;
  let sales: number;
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
    host.child.kill('SIGUSR2');
    sales = (await storeCommitted(host.httpPort)).units - ((await from) ?? NaN);
    for (let i = 0; i < 100 && !existsSync(probedFile); i++) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await host.stop();
  }
  if (!existsSync(probedFile)) throw new Error(`the host's probe (${probe}) wrote nothing`);
  if (!(sales > 0)) throw new Error('no sale was committed in the measured window');
  return { report, sales, probed: readFileSync(probedFile, 'utf8'), probedFile };
}
