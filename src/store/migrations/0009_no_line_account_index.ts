import type { Migration } from 'kysely';

/**
 * No index on the posting lines' account: no query looks lines up by account (the ledger check
 * reads them all; voids and reversals find them by posting), and every sale paid for it with two
 * index entries and about a tenth of its group commit's pages (`npm run bench:wal`), the card-funds
 * account's entries landing mid-index. An account statement, when one is built, brings the index
 * its query needs.
 */
export const noLineAccountIndex: Migration = {
  up: async (db) => {
    await db.schema.dropIndex('posting_lines_account').execute();
  },
  down: async (db) => {
    await db.schema.createIndex('posting_lines_account').on('posting_lines').column('account_id').execute();
  },
};
