/**
 * `npm run bench:profile`: where the host's main thread spends a sale, by domain. The host runs
 * under the benchmark load with V8's sampling profiler on its main thread over the measured window
 * (bench/profile-probe.ts, preloaded); each sample's own time goes to the folder of src/ its
 * function lives in, or to the package or part of Node it comes from. The SQLite statements run
 * on the main thread (better-sqlite3 is synchronous) and are a line of their own; the store's and
 * Kysely's lines are their JavaScript around them. The cipher and HMAC time is then split by the HSM
 * command it served (the outermost src/hsm/ frame above it). The profile is kept for Chrome DevTools. Terminals:
 * BENCH_TERMINALS (64), seconds: BENCH_SECONDS (8).
 */
import { runProbedHost, seconds, terminals } from './probed-host.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Native functions without a script, by name: what they serve. */
const SQLITE = 'SQLite statements (better-sqlite3 run, all, get)';
const CRYPTO = 'node: crypto (ciphers, HMAC)';
const NATIVE: Readonly<Record<string, string>> = {
  run: SQLITE,
  all: SQLITE,
  get: SQLITE,
  iterate: SQLITE,
  update: CRYPTO,
  final: CRYPTO,
  init: CRYPTO,
  digest: CRYPTO,
  Hmac: CRYPTO,
  dispatch: 'the profiler itself',
  writeBuffer: 'node: sockets and streams',
  writev: 'node: sockets and streams',
  writeUtf8String: 'node: sockets and streams',
  writeLatin1String: 'node: sockets and streams',
  fsync: 'node: files',
  hexWrite: 'node: buffers',
  hexSlice: 'node: buffers',
  latin1Write: 'node: buffers',
  utf8Write: 'node: buffers',
  base64Slice: 'node: buffers',
  runMicrotasks: 'node: promises and timers',
};

/** Where a function's own time belongs: a folder of src/, a package, a part of Node. */
function owner(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'V8: garbage collection';
  if (functionName === '(program)') return 'V8: outside JavaScript (compiling, runtime)';
  const domain = /\/dist\/(src|bench)\/([^/]+)\//.exec(url);
  if (domain) return domain[1] === 'src' ? `src/${domain[2]}/` : 'bench';
  const pkg = /\/node_modules\/((@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1] === 'kysely' ? 'kysely (its SQLite driver runs BEGIN and COMMIT)' : pkg[1]!;
  if (url.startsWith('node:')) {
    const part = url.slice('node:'.length);
    if (/crypto/.test(part)) return CRYPTO;
    if (/net|stream|tcp|socket/.test(part)) return 'node: sockets and streams';
    if (/buffer/.test(part)) return 'node: buffers';
    if (/timers|task_queues|process\/promises/.test(part)) return 'node: promises and timers';
    if (/modules|vm/.test(part)) return 'node: module loading';
    return 'node: other';
  }
  return NATIVE[functionName] ?? `native: ${functionName || '(anonymous)'}`;
}

const { report, sales, probed, probedFile: profileFile } = await runProbedHost('profile-probe.js', 'POSGATE_PROFILE_FILE', 'host.cpuprofile');

const profile = JSON.parse(probed) as Profile;
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parents = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id);

/** The HSM command a sample served: its outermost caller in src/hsm/, else its nearest one in src/. */
function hsmCommand(id: number): string {
  let command: string | undefined;
  let nearest: string | undefined;
  for (let at: number | undefined = parents.get(id); at !== undefined; at = parents.get(at)) {
    const { url, functionName } = nodes.get(at)!.callFrame;
    const where = /\/dist\/src\/(.+)\.js$/.exec(url);
    if (!where) continue;
    if (where[1]!.startsWith('hsm/')) command = `hsm ${functionName}`;
    else if (command) return command;
    nearest ??= `${where[1]}: ${functionName || '(anonymous)'}`;
  }
  return command ?? `outside the HSM module, ${nearest ?? 'no caller in src/'}`;
}

const byOwner = new Map<string, number>();
const cryptoByCommand = new Map<string, number>();
let busyUs = 0;
let idleUs = 0;
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  const frame = nodes.get(id)!.callFrame;
  if (frame.functionName === '(idle)') {
    idleUs += us;
    return;
  }
  busyUs += us;
  const o = owner(frame);
  byOwner.set(o, (byOwner.get(o) ?? 0) + us);
  if (o === CRYPTO) {
    const command = hsmCommand(id);
    cryptoByCommand.set(command, (cryptoByCommand.get(command) ?? 0) + us);
  }
});
const cpu = report.hostCpuPerSaleUs;
console.log(`posgate host profile: SQLite, ${terminals} terminals doing PIN sales, ${Math.round(report.perSecond).toLocaleString('en-US')} sales/s over ${seconds} s`);
console.log(
  `main thread busy ${(busyUs / sales).toFixed(0)} µs per sale, idle ${((100 * idleUs) / (busyUs + idleUs)).toFixed(0)} % of the window` +
    (cpu ? `; host CPU per sale ${cpu.all.toFixed(0)} µs, ${cpu.main.toFixed(0)} µs on the main thread` : ''),
);
console.log(`  µs/sale   share  where`);
for (const [o, us] of [...byOwner].sort((a, b) => b[1] - a[1])) {
  if (us / sales < 0.5) continue;
  console.log(`${(us / sales).toFixed(1).padStart(9)}  ${((100 * us) / busyUs).toFixed(1).padStart(5)} %  ${o}`);
}
console.log(`  ${CRYPTO}, by the HSM command it served:`);
for (const [command, us] of [...cryptoByCommand].sort((a, b) => b[1] - a[1])) {
  if (us / sales < 0.5) continue;
  console.log(`${(us / sales).toFixed(1).padStart(9)}           ${command}`);
}
console.log(`profile: ${profileFile} (Chrome DevTools, Performance → Load profile)`);
