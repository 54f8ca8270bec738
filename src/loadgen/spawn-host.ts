import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A `posgate serve` child process: the host gets its own core, the load generator keeps this one. */
export interface SpawnedHost {
  readonly isoPort: number;
  readonly httpPort: number;
  /** what it printed on starting (its banner) */
  readonly banner: string;
  readonly child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const HERE = fileURLToPath(import.meta.url);
// Built: dist/src/loadgen/spawn-host.js beside dist/src/cli/main.js. From source (tests): the built CLI.
const MAIN = HERE.endsWith('.ts') ? join(dirname(HERE), '..', '..', 'dist', 'src', 'cli', 'main.js') : join(dirname(HERE), '..', 'cli', 'main.js');

export function spawnHost(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<SpawnedHost> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'serve', '--iso-port', '0', '--http-port', '0', '--host', '127.0.0.1', '--log-level', 'warn', ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'inherit', 'pipe'] });
    let banner = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`posgate serve did not start within ${options.timeoutMs ?? 60_000} ms: ${banner}`));
    }, options.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      banner += chunk.toString('utf8');
      const iso = /ISO 8583 on [^:]+:(\d+)/.exec(banner);
      const http = /http:\/\/[^:]+:(\d+)\//.exec(banner);
      if (iso && http) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        child.stderr!.on('data', (c: Buffer) => process.stderr.write(c));
        resolve({
          isoPort: Number(iso[1]),
          httpPort: Number(http[1]),
          banner,
          child,
          stop: (signal = 'SIGTERM') =>
            new Promise((done) => {
              if (child.exitCode !== null) return done(child.exitCode);
              child.once('exit', (code) => done(code));
              child.kill(signal);
            }),
        });
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`posgate serve exited with ${code}: ${banner}`));
    });
  });
}
