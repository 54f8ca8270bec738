import type { Migration } from 'kysely';

/**
 * Which host process serves a database (SQLite: one at all; PostgreSQL: one per RRN node id), so
 * that a second `posgate serve` on the same data refuses to start instead of writing beside the
 * first (two SQLite writers stall each other; two hosts with one node id hand out the same RRNs).
 */
export const hostLeases: Migration = {
  up: async (db) => {
    await db.schema
      .createTable('host_leases')
      .addColumn('node', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('hostname', 'text', (c) => c.notNull())
      .addColumn('pid', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('renewed_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  down: async (db) => {
    await db.schema.dropTable('host_leases').execute();
  },
};
