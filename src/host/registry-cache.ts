import type { Kysely } from 'kysely';
import { merchantById, terminalByTid, type Merchant, type Terminal } from '../merchants/index.js';
import type { Database } from '../store/index.js';

/**
 * Terminal and merchant rows for the pipeline's steps 2–5, kept for at most `ttlMs` and dropped at
 * once when this process changes them. The TTL bounds how long another host process's change
 * (a sign-in elsewhere, a suspended merchant) can go unseen: one second by default.
 */
export class RegistryCache {
  private readonly terminals = new Map<string, { row: Terminal; at: number }>();
  private readonly merchants = new Map<string, { row: Merchant; at: number }>();
  private static readonly ENTRIES_MAX = 100_000;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly ttlMs = 1_000,
  ) {}

  async terminal(tid: string, now = Date.now()): Promise<Terminal | undefined> {
    const hit = this.terminals.get(tid);
    if (hit && now - hit.at < this.ttlMs) return hit.row;
    const row = await terminalByTid(this.db, tid);
    if (row) this.remember(this.terminals, tid, row, now);
    else this.terminals.delete(tid);
    return row;
  }

  async merchant(id: string, now = Date.now()): Promise<Merchant | undefined> {
    const hit = this.merchants.get(id);
    if (hit && now - hit.at < this.ttlMs) return hit.row;
    const row = await merchantById(this.db, id);
    if (row) this.remember(this.merchants, id, row, now);
    else this.merchants.delete(id);
    return row;
  }

  forgetTerminal(tid: string): void {
    this.terminals.delete(tid);
  }

  forgetMerchant(id: string): void {
    this.merchants.delete(id);
  }

  private remember<T>(map: Map<string, { row: T; at: number }>, key: string, row: T, at: number): void {
    if (map.size >= RegistryCache.ENTRIES_MAX) map.delete(map.keys().next().value!);
    map.set(key, { row, at });
  }
}
