import type { Migration } from 'kysely';

/**
 * Which issuer key computes the CVV on a card's magnetic stripe: the name of a system key (usage
 * `cvk`), or null for a card whose stripe carries no CVV (the card of the protocol's worked
 * examples). Cards issued before this migration carry none.
 */
export const cardCvk: Migration = {
  up: async (db) => {
    await db.schema.alterTable('cards').addColumn('cvk', 'text').execute();
  },
  down: async (db) => {
    await db.schema.alterTable('cards').dropColumn('cvk').execute();
  },
};
