import type { Migration } from 'kysely';

/**
 * The issuer simulator looks up a card's holds when the card comes back with funds still held, to
 * release those older than the pre-authorisation's validity: an index by card keeps that a few
 * page reads however many holds the table holds.
 */
export const cardHoldsByCard: Migration = {
  up: async (db) => {
    await db.schema.createIndex('card_holds_card').on('card_holds').columns(['card_id', 'status']).execute();
  },
  down: async (db) => {
    await db.schema.dropIndex('card_holds_card').execute();
  },
};
