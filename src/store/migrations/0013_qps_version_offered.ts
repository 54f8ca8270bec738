import type { Migration } from 'kysely';

/**
 * The password-free parameter version a terminal was sent in its last 394, so that its 395 records
 * the version it actually holds, not the merchant's version at the time of the 395 (§9.3): a change
 * made between the two would otherwise never reach that terminal.
 */
export const qpsVersionOffered: Migration = {
  up: async (db) => {
    await db.schema.alterTable('terminals').addColumn('qps_version_offered', 'integer').execute();
  },
  down: async (db) => {
    await db.schema.alterTable('terminals').dropColumn('qps_version_offered').execute();
  },
};
