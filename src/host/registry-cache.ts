import type { Kysely } from 'kysely';
import { merchantById, terminalByTid, type Merchant, type Terminal } from '../merchants/index.js';
import type { Database } from '../store/index.js';

/**
 * Terminal and merchant rows for the pipeline's steps 2–5, kept for at most `ttlMs` and dropped at
 * once when this process changes them. The TTL bounds how long another host process's change
 * (a sign-in elsewhere, a suspended merchant) can go unseen: one second by default. `fresh` reads
 * the row from the database whatever is cached (and caches what it read).
 */
export class RegistryCache {
  private readonly terminals = new Map<string, { row: Terminal; at: number }>();
  private readonly merchants = new Map<string, { row: Merchant; at: number }>();
  private static readonly ENTRIES_MAX = 100_000;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly ttlMs = 1_000,
  ) {}

  terminal(tid: string, now = Date.now(), fresh = false): Promise<Terminal | undefined> {
    return this.cached(this.terminals, tid, () => terminalByTid(this.db, tid), now, fresh);
  }

  merchant(id: string, now = Date.now(), fresh = false): Promise<Merchant | undefined> {
    return this.cached(this.merchants, id, () => merchantById(this.db, id), now, fresh);
  }

  forgetTerminal(tid: string): void {
    this.terminals.delete(tid);
  }

  forgetMerchant(id: string): void {
    this.merchants.delete(id);
  }

  private async cached<T>(map: Map<string, { row: T; at: number }>, key: string, load: () => Promise<T | undefined>, now: number, fresh: boolean): Promise<T | undefined> {
    const hit = fresh ? undefined : map.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.row;
    const row = await load();
    if (row === undefined) {
      map.delete(key);
      return undefined;
    }
    if (map.size >= RegistryCache.ENTRIES_MAX) map.delete(map.keys().next().value!);
    map.set(key, { row, at: now });
    return row;
  }
}
