import type { Transaction } from 'kysely';
import type { Database } from './schema.js';

type Trx = Transaction<Database>;

/**
 * A read that each unit of a group transaction would otherwise make on its own, by key (the card
 * of a sale, the transaction under a terminal's batch and STAN). Units announce their keys when
 * they are submitted; on PostgreSQL, where every statement is a round trip, the group committer
 * makes the read once for the whole group before the units run. What a read finds is kept for that
 * transaction only.
 */
export interface BatchRead {
  load(trx: Trx, keys: readonly string[]): Promise<void>;
}

export interface ReadHint {
  readonly read: BatchRead;
  readonly key: string;
}

/**
 * Values read ahead for one transaction, each handed out once by `take`. Keep here only what no
 * other unit of the transaction can change before it is taken (the host keeps the absence of a
 * key that only its own unit may write; the issuer keeps its cards in a map of its own).
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
