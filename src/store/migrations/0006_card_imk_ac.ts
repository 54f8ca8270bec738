import type { Migration } from 'kysely';

/**
 * Which issuer master key the card's chip derives its application cryptogram key from: the name of
 * a system key (usage `imk-ac`), or null for a card without a chip application. Cards issued
 * before this migration carry none.
 */
export const cardImkAc: Migration = {
  up: async (db) => {
    await db.schema.alterTable('cards').addColumn('imk_ac', 'text').execute();
  },
  down: async (db) => {
    await db.schema.alterTable('cards').dropColumn('imk_ac').execute();
  },
};
