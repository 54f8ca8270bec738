import type { Transaction } from 'kysely';
import { afterCommit, committedEpoch } from './group-commit.js';
import type { Database } from './schema.js';

type Trx = Transaction<Database>;

/**
 * Rows as this host's last committed transactions left them, kept from one group transaction to
 * the next so that a hot row (a card every sale of it reads) is read from SQLite once rather than
 * once per transaction. Only rows a committed transaction held go in (`keepAfterCommit`), each as
 * it was at that COMMIT, and only while the committer's epoch stands (committedEpoch): a posgate
 * command that committed on another connection, a rollback, or a write around the domain
 * (invalidateCommitted) starts it afresh, and every row is read again. On PostgreSQL nothing is
 * kept: other hosts write the same rows.
 *
 * A row handed out is the kept object itself: the caller copies it before changing it.
 */
export class CommittedRows<V> {
  #epoch: number | undefined;
  #rows = new Map<string, V>();

  constructor(private readonly entriesMax: number) {}

  /** The row under `key` as last committed, if it is kept and may be trusted in this transaction. */
  get(trx: Trx, key: string): V | undefined {
    const epoch = committedEpoch(trx);
    if (epoch === undefined) return undefined;
    if (epoch !== this.#epoch) {
      this.#rows = new Map();
      this.#epoch = epoch;
      return undefined;
    }
    return this.#rows.get(key);
  }

  /** Once this transaction has committed, keeps each entry `entries()` then gives (each row as the transaction left it). */
  keepAfterCommit(trx: Trx, entries: () => Iterable<readonly [string, V]>): void {
    const epoch = committedEpoch(trx);
    if (epoch === undefined) return;
    afterCommit(trx, () => {
      if (epoch !== this.#epoch) {
        this.#rows = new Map();
        this.#epoch = epoch;
      }
      for (const [key, value] of entries()) {
        // bounded: past the limit it starts again (a card not used since is read again, once)
        if (this.#rows.size >= this.entriesMax && !this.#rows.has(key)) this.#rows = new Map();
        this.#rows.set(key, value);
      }
    });
  }

  /** how many rows are kept now (for tests) */
  get size(): number {
    return this.#rows.size;
  }
}
