import { sql, type Migration } from 'kysely';

/**
 * A batch upload's item is kept once per (terminal, batch, STAN): a terminal that sends its upload
 * again (an answer lost, a retransmission) must not double the items the reconciliation counts.
 * Copies left by earlier versions are dropped first, the oldest kept.
 */
export const uploadItemsOnce: Migration = {
  up: async (db) => {
    await sql`delete from batch_upload_items where id not in (select min(id) from batch_upload_items group by terminal_id, batch, stan)`.execute(db);
    await db.schema.createIndex('batch_upload_items_once').unique().on('batch_upload_items').columns(['terminal_id', 'batch', 'stan']).execute();
  },
  down: async (db) => {
    await db.schema.dropIndex('batch_upload_items_once').execute();
  },
};
