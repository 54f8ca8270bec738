import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { runLoad, type LoadOptions, type LoadReport } from './load-generator.js';
import type { SpawnedHost } from './spawn-host.js';

/** CPU time per sale of a host process, µs: all its threads, and its main (JavaScript) thread. */
export interface HostCpu {
  readonly all: number;
  readonly main: number;
}

/**
 * The rest of the machine over the same window: the load generator's own CPU per sale (this
 * process, all threads) and the share of the machine's CPU time that nobody used. With both
 * beside the host's figures, one run says whether the cores were full or the host's main thread
 * was the limit.
 */
export interface MachineCpu {
  readonly loadGeneratorUs: number;
  readonly idlePercent: number;
}

export type MeasuredLoadReport = LoadReport & { readonly hostCpuPerSaleUs?: HostCpu; readonly machine?: MachineCpu };

/** Clock ticks per second of /proc's CPU times, asked of getconf on first use (not on every `posgate` start). */
let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU time used so far by process `pid` (all threads) and by its main thread, µs; Linux /proc only. */
function cpuUsed(pid: number): HostCpu | undefined {
  const ticks = (path: string) => {
    // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces, so count from its ')'
    const fields = readFileSync(path, 'utf8').replace(/^.*\) /s, '').split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  try {
    const us = 1e6 / clockTicks();
    return { all: ticks(`/proc/${pid}/stat`) * us, main: ticks(`/proc/${pid}/task/${pid}/stat`) * us };
  } catch {
    return undefined;
  }
}

/** The machine's idle and total CPU time so far (all cores, clock ticks), from /proc/stat; Linux only. */
function machineTicks(): { idle: number; total: number } | undefined {
  try {
    const fields = /^cpu\s+(.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    return { idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + steal };
  } catch {
    return undefined;
  }
}

/** What the host's store has committed so far, from its /metrics: units of work (sales) and group commits. */
export async function storeCommitted(httpPort: number): Promise<{ units: number; commits: number }> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { units: counter('posgate_store_units_total'), commits: counter('posgate_store_commits_total') };
}


/**
 * runLoad against a host this process started, reporting beside the load's figures the host's CPU
 * per committed sale over the measured window (sampled at its first progress report and at its
 * end): the figure that says what a change to the host costs or saves, whatever else the machine
 * was doing, where throughput on a shared machine moves by ±10 % from run to run.
 */
export async function runLoadMeasuringHost(host: SpawnedHost, options: Omit<LoadOptions, 'host' | 'port'>): Promise<MeasuredLoadReport> {
  const pid = host.child.pid;
  let start: Promise<{ cpu: HostCpu | undefined; units: number; own: NodeJS.CpuUsage; machine: ReturnType<typeof machineTicks> }> | undefined;
  const report = await runLoad({
    ...options,
    host: '127.0.0.1',
    port: host.isoPort,
    onProgress: (p) => {
      if (p.elapsedMs > 0 && pid !== undefined) start ??= storeCommitted(host.httpPort).then(({ units }) => ({ cpu: cpuUsed(pid), units, own: process.cpuUsage(), machine: machineTicks() }));
      options.onProgress?.(p);
    },
  });
  if (pid === undefined) return report;
  const [before, units] = await Promise.all([start, storeCommitted(host.httpPort).then(({ units }) => units, () => NaN)]);
  const after = cpuUsed(pid);
  const own = before ? process.cpuUsage(before.own) : undefined;
  const machine = machineTicks();
  if (!before?.cpu || !after || !(units > before.units)) return report;
  const n = units - before.units;
  const hostCpuPerSaleUs = { all: (after.all - before.cpu.all) / n, main: (after.main - before.cpu.main) / n };
  if (!own || !machine || !before.machine || machine.total <= before.machine.total) return { ...report, hostCpuPerSaleUs };
  const idlePercent = (100 * (machine.idle - before.machine.idle)) / (machine.total - before.machine.total);
  return { ...report, hostCpuPerSaleUs, machine: { loadGeneratorUs: (own.user + own.system) / n, idlePercent } };
}
