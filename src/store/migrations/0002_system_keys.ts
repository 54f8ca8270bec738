import type { Migration } from 'kysely';

/** Host-wide keys (the issuer simulator's PVK and CVK), kept as LMK-wrapped key blocks. */
export const systemKeys: Migration = {
  up: async (db) => {
    await db.schema
      .createTable('system_keys')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('key_block', 'text', (c) => c.notNull())
      .addColumn('kcv', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  down: async (db) => {
    await db.schema.dropTable('system_keys').execute();
  },
};
