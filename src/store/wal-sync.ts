import { constants, promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { OutcomeInDoubtError } from './failures.js';

/**
 * Makes SQLite group commits durable without blocking the event loop.
 *
 * With `synchronous = FULL`, SQLite fsyncs the write-ahead log inside COMMIT, and better-sqlite3
 * runs COMMIT on the JavaScript thread: the host stands still for every fsync. Instead, a group's
 * COMMIT runs with `synchronous = NORMAL` (the WAL frames are written, not synced; SQLite still
 * syncs at every checkpoint and WAL reset), and then this class fsyncs the WAL file on a libuv
 * pool thread. The group's units settle — and their replies go out — only after an fsync that
 * *started after their COMMIT* has finished: the same guarantee as FULL, for every reply.
 *
 * Flushes coalesce: while one fsync runs, later commits wait for the next one, which covers all of
 * them (an fsync makes durable everything written to the file before it began). Meanwhile the
 * event loop takes in requests. A failed fsync leaves what the kernel holds in doubt, so the
 * store fails every waiting unit and every later one (see `failed`): it must be restarted, and
 * SQLite's recovery then decides from what is on disk.
 */
export class WalSync {
  private fd: fs.FileHandle | undefined;
  private opening: Promise<fs.FileHandle> | undefined;
  /** commits waiting for an fsync that has not started yet */
  private waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private flushing: Promise<void> | undefined;
  private failure: Error | undefined;
  private flushes = 0;

  constructor(private readonly databaseFile: string) {}

  /** Resolves once everything committed before this call is on disk. */
  afterCommit(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  stats(): { flushes: number } {
    return { flushes: this.flushes };
  }

  /** Waits for the flushes under way, then closes the WAL file handle. */
  async close(): Promise<void> {
    await this.flushing;
    await this.fd?.close();
    this.fd = undefined;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        try {
          await (await this.walFile()).sync();
          this.flushes++;
        } catch (error) {
          this.failure = new WalSyncError(`fsync of the write-ahead log failed: ${(error as Error).message}`);
          for (const unit of [...batch, ...this.waiting]) unit.reject(this.failure);
          this.waiting = [];
          return;
        }
        for (const unit of batch) unit.resolve();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * The `-wal` file stays in place while the store's write connection is open (SQLite deletes it
   * only when the last connection closes; a checkpoint rewinds it in place). The first time, the
   * directory is synced too, so that the file's name survives a power cut as well as its contents.
   */
  private walFile(): Promise<fs.FileHandle> {
    if (this.fd) return Promise.resolve(this.fd);
    this.opening ??= (async () => {
      const handle = await fs.open(`${this.databaseFile}-wal`, constants.O_RDONLY);
      const dir = await fs.open(dirname(this.databaseFile), constants.O_RDONLY);
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      this.fd = handle;
      return handle;
    })().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }
}

/** The WAL could not be synced: what it holds is in doubt, and the store runs nothing more. */
export class WalSyncError extends OutcomeInDoubtError {
  constructor(message: string) {
    super(message);
    this.name = 'WalSyncError';
  }
}
