import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = Record<string, unknown>>(): T;
}

/** Runs `posgate …` in-process (fast), with `stdin` as standard input. */
export async function posgate(args: string[], stdin = ''): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    out: (t) => void (stdout += t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => void (stderr += t.endsWith('\n') ? t : `${t}\n`),
    readStdin: async () => stdin,
  });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

const BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Runs the built `posgate` binary as a user would (needs `npm run build`, which `npm test` does first). */
export function posgateBinary(args: string[], stdin = ''): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { input: stdin, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

/**
 * The built binary in a child process without blocking this one (for a host that runs in the test's
 * own process); `stdin`, when given, is typed in and then closed (an interactive `posgate terminal`).
 */
export function posgateBinaryAsync(args: string[], stdin?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr, json: () => JSON.parse(stdout) }));
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}
