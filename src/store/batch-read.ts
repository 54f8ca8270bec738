import type { Transaction } from 'kysely';
import type { Database } from './schema.js';

type Trx = Transaction<Database>;

/**
 * A read that each unit of a group transaction would otherwise make on its own, by key (the card
 * of a sale, the transaction under a terminal's batch and STAN). Units announce their keys when
 * they are submitted; on PostgreSQL, where every statement is a round trip, the group committer
 * makes the read once for the whole group before the units run. What a read finds is kept for that
 * transaction only, in a {@link TransactionCache}, and each entry serves one unit at most.
 */
export interface BatchRead {
  load(trx: Trx, keys: readonly string[]): Promise<void>;
}

export interface ReadHint {
  readonly read: BatchRead;
  readonly key: string;
}

/**
 * Values read ahead for one transaction. `take` hands an entry out once and removes it; whoever
 * writes the underlying row must `forget` the entry first, so that a unit never acts on a row as it
 * was before another unit of the same transaction changed it.
 */
export class TransactionCache<V> {
  readonly #byTrx = new WeakMap<object, Map<string, V>>();

  fill(trx: Trx, entries: Iterable<readonly [string, V]>): void {
    const map = this.#byTrx.get(trx) ?? new Map<string, V>();
    for (const [key, value] of entries) map.set(key, value);
    this.#byTrx.set(trx, map);
  }

  take(trx: Trx, key: string): V | undefined {
    const map = this.#byTrx.get(trx);
    const value = map?.get(key);
    if (value !== undefined) map!.delete(key);
    return value;
  }

  forget(trx: Trx, matches: (value: V) => boolean): void {
    const map = this.#byTrx.get(trx);
    if (!map) return;
    for (const [key, value] of map) if (matches(value)) map.delete(key);
  }
}

/** Runs each read once with the distinct keys the units announced. */
export async function readAhead(trx: Trx, hints: readonly ReadHint[]): Promise<void> {
  const byRead = new Map<BatchRead, Set<string>>();
  for (const hint of hints) {
    let keys = byRead.get(hint.read);
    if (!keys) byRead.set(hint.read, (keys = new Set()));
    keys.add(hint.key);
  }
  for (const [read, keys] of byRead) await read.load(trx, [...keys]);
}
