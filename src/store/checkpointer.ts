import { Worker } from 'node:worker_threads';

/**
 * Checkpoints an SQLite database's write-ahead log from a thread of its own.
 *
 * SQLite checkpoints inside the COMMIT that takes the WAL past 1,000 pages: on the connection that
 * committed, which for better-sqlite3 is the JavaScript thread — every dozen group commits the host
 * stood still while a thousand pages were copied into the database file. This thread, with its own
 * connection, runs a PASSIVE checkpoint every `intervalMs` (PASSIVE never waits for or blocks a
 * writer), so that when the write connection's own checkpoint comes due, nearly every page has
 * been copied already: it syncs, copies the rest and lets SQLite rewind the WAL, as before. (A
 * background checkpointer alone never catches up with a busy writer, and the WAL would only grow.)
 * Durability is unchanged: SQLite syncs what a checkpoint copies before the WAL is reused.
 * Measured with 64 terminals, alternating runs: 5,391 vs 5,121 sales/s, main thread 179 vs 189 µs per sale.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const checkpoint = db.prepare('pragma wal_checkpoint(PASSIVE)');
let stopped = false;
let timer;
let last = { log: -1, checkpointed: -1 };
const tick = () => {
  if (stopped) return;
  try {
    const [row] = checkpoint.all();
    // the main thread hears of it only when the WAL changed (an idle host is not woken 20 times a second)
    if (row.log !== last.log || row.checkpointed !== last.checkpointed) parentPort.postMessage({ type: 'checkpoint', log: row.log, checkpointed: row.checkpointed });
    last = row;
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: String(err && err.message || err) });
  }
  timer = setTimeout(tick, workerData.intervalMs);
};
parentPort.on('message', (m) => {
  if (m === 'stop') {
    stopped = true;
    clearTimeout(timer);
    try { checkpoint.all(); } catch {}
    db.close();
    parentPort.close();
  }
});
tick();
`;

export interface CheckpointStats {
  /** checkpoints that found the WAL changed */
  readonly checkpoints: number;
  /** WAL frames at the last checkpoint, and how many of them it copied */
  readonly walFrames: number;
  readonly copiedFrames: number;
  readonly lastError?: string;
}

export class WalCheckpointer {
  private stats: CheckpointStats = { checkpoints: 0, walFrames: 0, copiedFrames: 0 };
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: { type: 'checkpoint'; log: number; checkpointed: number } | { type: 'error'; message: string }) => {
      if (m.type === 'checkpoint') this.stats = { checkpoints: this.stats.checkpoints + 1, walFrames: m.log, copiedFrames: m.checkpointed };
      else this.stats = { ...this.stats, lastError: m.message };
    });
    worker.on('error', (err) => {
      this.stats = { ...this.stats, lastError: err.message };
    });
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.unref();
  }

  /** `driver`: the resolved path of better-sqlite3, so the thread loads the same build. */
  static start(file: string, driver: string, intervalMs = 50): WalCheckpointer {
    return new WalCheckpointer(new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs } }));
  }

  checkpointStats(): CheckpointStats {
    return this.stats;
  }

  /** A last checkpoint, then the thread ends. */
  async stop(): Promise<void> {
    // Held unreferenced while it runs (it must not keep a process alive); waited for when stopping.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}
