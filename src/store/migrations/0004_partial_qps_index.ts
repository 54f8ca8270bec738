import { sql, type Migration } from 'kysely';

/**
 * The index behind the password-free daily caps (card, merchant, day) is needed only for
 * password-free payments: a partial index spares every other sale its upkeep (and its share of
 * each commit's WAL).
 */
export const partialQpsIndex: Migration = {
  up: async (db) => {
    await db.schema.dropIndex('transactions_card_day').execute();
    await db.schema
      .createIndex('transactions_qps_card_day')
      .on('transactions')
      .columns(['pan_hash', 'merchant_id', 'local_day'])
      .where(sql.ref('password_free'), '=', 1)
      .execute();
  },
  down: async (db) => {
    await db.schema.dropIndex('transactions_qps_card_day').execute();
    await db.schema.createIndex('transactions_card_day').on('transactions').columns(['pan_hash', 'merchant_id', 'local_day']).execute();
  },
};
