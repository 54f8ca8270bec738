import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { TerminalError } from './errors.js';
import type { Settlement } from './soft-terminal.js';

/**
 * One line of the terminal's batch log (its journal, 交易流水): every transaction the host approved
 * in the open batch. Settlement counts and uploads the sales, completions and refunds among them
 * (§4.6); the rest (voids, pre-authorisations) are kept for the journal and reprints.
 */
export interface BatchEntry {
  readonly stan: string;
  readonly type: string; // 60.1
  readonly amountFen: number;
  readonly panMasked: string;
  /**
   * the PAN, kept on the terminal (the PIN pad's secure storage) for voids and batch upload: only in
   * the lines of sales, completions and refunds; empty in the others, which need it for neither
   */
  readonly pan: string;
  readonly rrn: string;
  readonly authCode: string;
  readonly date: string; // MMDD of the response
  readonly cardOrg: string;
  /** hhmmss of the response (field 12); absent in entries written before it was kept */
  readonly time?: string;
  /** how the card was read (EntryMode), the operator, and what the receipt said of the cardholder's verification */
  readonly entry?: string;
  readonly operator?: string;
  readonly passwordFree?: boolean;
  readonly noSignature?: boolean;
  status: 'approved' | 'voided' | 'reversed';
}

export interface PendingReversal {
  /** the request fields the 0400 copies (§8.1) */
  readonly mti: string;
  readonly fields: Record<string, string>;
  reason: '98' | 'A0' | '06';
}

/** Everything a terminal must survive a power cut with. Keys are clear: this is the PIN pad's secure storage. */
export interface TerminalState {
  tmk?: string;
  pik?: string;
  mak?: string;
  tdk?: string;
  batch: number;
  stan: number;
  signedIn: boolean;
  pendingReversal?: PendingReversal;
  batchLog: BatchEntry[];
  qps?: Record<string, string>;
  /** the last settlement the host answered 00 (its slip can be printed again) */
  lastSettlement?: Settlement;
  /** what the last processing-request nibble asked for */
  requested?: string;
}

export interface TerminalStorage {
  load(): TerminalState | undefined;
  save(state: TerminalState): void;
}

/** Keeps the state object itself: for tests and load generation, where nothing must survive the process. */
export class MemoryStorage implements TerminalStorage {
  private state?: TerminalState;
  load(): TerminalState | undefined {
    return this.state;
  }
  save(state: TerminalState): void {
    this.state = state;
  }
}

/**
 * A JSON file, written to a temporary file, fsynced and renamed over the old one, the rename made
 * durable by an fsync of the folder: never half-written, and still there after a power cut. It
 * holds keys in clear, so, like the LMK file, it is mode 0600 and refused when others can read it.
 */
export class FileStorage implements TerminalStorage {
  constructor(private readonly path: string) {}

  load(): TerminalState | undefined {
    let text: string;
    try {
      if (process.platform !== 'win32') {
        const mode = statSync(this.path).mode & 0o777;
        if (mode & 0o077) {
          throw new TerminalError('state_file_exposed', `${this.path} is readable by others (mode ${mode.toString(8)}): the keys in it may have been copied. chmod 600 it, and have the terminal activated again if in doubt`);
        }
      }
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let state: Partial<TerminalState> | null;
    try {
      state = JSON.parse(text) as Partial<TerminalState> | null;
    } catch {
      state = null;
    }
    if (state === null || typeof state !== 'object' || !Number.isInteger(state.batch) || !Number.isInteger(state.stan) || !Array.isArray(state.batchLog)) {
      throw new TerminalError('state_file_corrupt', `${this.path} is not a terminal state file (its batch, STAN or batch log cannot be read); it is left as it is`);
    }
    return state as TerminalState;
  }

  save(state: TerminalState): void {
    const folder = dirname(this.path);
    mkdirSync(folder, { recursive: true });
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      if (process.platform !== 'win32') chmodSync(tmp, 0o600); // a temporary file left by a crash kept its old mode
      writeSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    syncFolder(folder);
  }
}

/** The rename is durable only once the folder's entry is on disk (POSIX); Windows cannot open a folder, and needs no such step. */
function syncFolder(folder: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
