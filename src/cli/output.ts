import { userInfo } from 'node:os';
import { CryptoInputError } from '../crypto/index.js';
import { HsmError } from '../hsm/index.js';
import { Iso8583Error } from '../iso8583/index.js';
import { TerminalError } from '../terminal/index.js';

/** Bad input from the person at the keyboard: printed as a clear message, exit code 2. */
export class UsageError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** An amount typed in yuan (`12.34`, at most two decimals) as whole fen. */
export function parseYuan(text: string): number {
  if (!/^\d{1,9}(\.\d{1,2})?$/.test(text)) throw new UsageError('invalid_amount', `"${text}" is not an amount in yuan (e.g. 12.34)`);
  const [y, f = ''] = text.split('.');
  return Number(y) * 100 + Number(f.padEnd(2, '0'));
}

/** `text` as one word of a POSIX shell command line: as it is when safe, else in single quotes. */
export function shellWord(text: string): string {
  if (/^[A-Za-z0-9_\/:.,@%+=-]+$/.test(text)) return text;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Who made a change from the command line, for the audit log: the login name on this machine. */
export function cliActor(): string {
  return `cli:${userInfo().username}`;
}

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_BAD_INPUT = 2;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

/** Prints one JSON object with `--json`, else the human lines. */
export function emit(io: Io, json: boolean, object: unknown, lines: () => string[]): void {
  io.out(json ? JSON.stringify(object, null, 2) : lines().join('\n'));
}

/** The error code and message to show for anything a command threw; `undefined` code means a bug. */
export function describeError(err: unknown): { code: string; message: string; exit: number } {
  if (err instanceof UsageError || err instanceof CryptoInputError || err instanceof HsmError) {
    return { code: err.code, message: err.message, exit: EXIT_BAD_INPUT };
  }
  if (err instanceof Iso8583Error || err instanceof TerminalError) return { code: err.code, message: err.message, exit: EXIT_BAD_INPUT };
  return { code: 'internal_error', message: err instanceof Error ? err.message : String(err), exit: EXIT_INTERNAL };
}
