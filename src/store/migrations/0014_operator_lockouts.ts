import type { Migration } from 'kysely';

/**
 * How many times in a row an operator has been locked out without a right password since: each
 * lock lasts twice as long as the one before (up to a day), so that a lock that lifts does not let
 * guessing go on at the same pace for ever.
 */
export const operatorLockouts: Migration = {
  up: async (db) => {
    await db.schema.alterTable('operators').addColumn('lockouts', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
  down: async (db) => {
    await db.schema.alterTable('operators').dropColumn('lockouts').execute();
  },
};
