import type { Migration } from 'kysely';

/**
 * Reversal tombstones now live in `transactions` (status `tombstone`) under the original's unique
 * key, so the duplicate check of every financial request is one look-up instead of two.
 */
export const tombstonesInTransactions: Migration = {
  up: async (db) => {
    await db.schema.dropTable('tombstones').execute();
  },
  down: async (db) => {
    await db.schema
      .createTable('tombstones')
      .addColumn('terminal_id', 'text', (c) => c.notNull())
      .addColumn('batch', 'integer', (c) => c.notNull())
      .addColumn('stan', 'text', (c) => c.notNull())
      .addColumn('processing_code', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('amount_fen', 'bigint', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('tombstones_pk', ['terminal_id', 'batch', 'stan'])
      .execute();
  },
};
