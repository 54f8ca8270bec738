import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';

export type Work<T> = (trx: Transaction<Database>) => Promise<T>;

interface Pending {
  readonly work: Work<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** At most this many units share one transaction, so one commit never holds up the host for long. */
export const GROUP_UNITS_MAX = 512;

/**
 * Group commit without timers: a unit of work submitted while no transaction is running starts one
 * as soon as the event loop has taken in what already arrived; units submitted while one runs wait
 * and all go into the next transaction together.
 * Each unit runs inside its own savepoint, so a unit that throws is rolled back alone. Every
 * promise settles only after the COMMIT that made its unit durable (or after that commit failed).
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private running = false;
  private commits = 0;
  private units = 0;

  constructor(private readonly db: Kysely<Database>) {}

  run<T>(work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Commits so far and units per commit, for metrics. */
  stats(): { commits: number; units: number } {
    return { commits: this.commits, units: this.units };
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        // Yield once to the event loop before each transaction (a setImmediate, not a timer): with a
        // synchronous driver a whole transaction runs within one turn, so without this every request
        // that arrived meanwhile would get a transaction, and an fsync, of its own.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.queue.splice(0, GROUP_UNITS_MAX);
        const outcomes: { ok: boolean; value: unknown }[] = [];
        try {
          await this.db.transaction().execute(async (trx) => {
            for (const unit of batch) {
              if (batch.length === 1) {
                // a lone unit needs no savepoint: if it fails, the whole transaction rolls back
                outcomes.push({ ok: true, value: await unit.work(trx) });
                continue;
              }
              await sql`savepoint unit`.execute(trx);
              try {
                const value = await unit.work(trx);
                await sql`release savepoint unit`.execute(trx);
                outcomes.push({ ok: true, value });
              } catch (error) {
                await sql`rollback to savepoint unit`.execute(trx);
                await sql`release savepoint unit`.execute(trx);
                outcomes.push({ ok: false, value: error });
              }
            }
          });
        } catch (error) {
          for (const unit of batch) unit.reject(error);
          continue;
        }
        this.commits++;
        this.units += batch.length;
        batch.forEach((unit, i) => (outcomes[i]!.ok ? unit.resolve(outcomes[i]!.value) : unit.reject(outcomes[i]!.value)));
      }
    } finally {
      this.running = false;
    }
  }
}
