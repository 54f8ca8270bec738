import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** One line of the terminal's batch log: what it will count at settlement and upload. */
export interface BatchEntry {
  readonly stan: string;
  readonly type: string; // 60.1
  readonly amountFen: number;
  readonly panMasked: string;
  /** the PAN, kept on the terminal (the PIN pad's secure storage) for voids and batch upload */
  readonly pan: string;
  readonly rrn: string;
  readonly authCode: string;
  readonly date: string; // MMDD of the response
  readonly cardOrg: string;
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

/** A JSON file, written to a temporary file, fsynced and renamed over the old one: never half-written. */
export class FileStorage implements TerminalStorage {
  constructor(private readonly path: string) {}
  load(): TerminalState | undefined {
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as TerminalState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  save(state: TerminalState): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}
