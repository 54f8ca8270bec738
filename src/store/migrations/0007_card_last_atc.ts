import type { Migration } from 'kysely';

/**
 * The highest application transaction counter (ATC) the issuer has seen from the card's chip: a
 * cryptogram whose ATC is not above it is a replay, and is declined. Null until the first chip
 * transaction.
 */
export const cardLastAtc: Migration = {
  up: async (db) => {
    await db.schema.alterTable('cards').addColumn('last_atc', 'integer').execute();
  },
  down: async (db) => {
    await db.schema.alterTable('cards').dropColumn('last_atc').execute();
  },
};
