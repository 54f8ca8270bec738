import type { Transaction } from 'kysely';
import type { Database, Engine } from '../store/index.js';
import { CommittedRows, param, prepared, TransactionCache, type BatchRead } from '../store/index.js';

type Trx = Transaction<Database>;

/**
 * A terminal's open batch as the unit of work sees it, for §7 step 8 repeated inside the unit (and
 * for a reversal's "batch closed" rule, §8.2). Step 8 itself reads the terminal as it was when the
 * request came in. A settlement of the same terminal, sent meanwhile on another connection, may
 * have closed that batch since, in a transaction that committed before this unit's began (a
 * settlement runs alone). Money moved in a closed batch would be in no settlement's totals. It
 * would stay in the merchant's pending balance for good.
 *
 * On PostgreSQL the row is read FOR SHARE. A settlement locks it FOR UPDATE before it counts its
 * batch (lockForSettlement), so it waits for the groups that took it, and their sales are in its
 * totals. Groups that come after it wait for its COMMIT and read the new batch.
 *
 * On SQLite the batch is kept between transactions (CommittedRows) as the last one that read it
 * committed it: a settlement, which writes the next batch through updateTerminal, starts the kept
 * batches afresh, and so does a commit by a posgate command. The read was 4 µs of a sale's
 * main-thread time (`npm run bench:sql`).
 */
const OPEN_BATCH = prepared((db) => db.selectFrom('terminals').select('open_batch').where('id', '=', param(0)));
const OPEN_BATCH_SHARED = prepared((db) => db.selectFrom('terminals').select('open_batch').where('id', '=', param(0)).forShare());
const LOCK_FOR_SETTLEMENT = prepared((db) => db.selectFrom('terminals').select('id').where('id', '=', param(0)).forUpdate());

const readAhead = new TransactionCache<number>();
/** far more terminals than one host serves; past it the kept batches start again */
const kept = new CommittedRows<number>(200_000);

/** The open batches of a group's terminals in one statement (PostgreSQL), each handed to one unit. */
export const openBatchRead: BatchRead = {
  load: async (trx, terminalIds) => {
    const rows = await trx.selectFrom('terminals').select(['id', 'open_batch']).where('id', 'in', terminalIds).orderBy('id').forShare().execute();
    readAhead.fill(trx, rows.map((r) => [r.id, r.open_batch] as const));
  },
};

export async function openBatchNow(trx: Trx, engine: Engine, terminalId: string): Promise<number | undefined> {
  const known = readAhead.take(trx, terminalId) ?? kept.get(trx, terminalId);
  if (known !== undefined) return known;
  const batch = (await (engine === 'postgres' ? OPEN_BATCH_SHARED : OPEN_BATCH).first(trx, [terminalId]))?.open_batch;
  if (batch !== undefined) kept.keepAfterCommit(trx, () => [[terminalId, batch]]);
  return batch;
}

/**
 * Before a settlement counts its batch, on PostgreSQL: waits for the groups that read the
 * terminal's open batch, and holds off the ones that would. (The settlement runs alone: no unit of
 * its own group reads the batch it closes.)
 */
export async function lockForSettlement(trx: Trx, engine: Engine, terminalId: string): Promise<void> {
  if (engine === 'postgres') await LOCK_FOR_SETTLEMENT.execute(trx, [terminalId]);
}
