import type { Kysely, Migration } from 'kysely';
import type { Engine } from '../engine.js';

/** The first schema. Plain SQL types that mean the same on SQLite and PostgreSQL. */
export const initialSchema = (engine: Engine): Migration => ({ up: (db) => up(db, engine), down });

async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  const money = 'bigint';
  const time = 'bigint';

  await db.schema
    .createTable('merchants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('mid', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('timezone', 'text', (c) => c.notNull())
    .addColumn('mcc', 'text', (c) => c.notNull())
    .addColumn('fee_rate_ppm', 'integer', (c) => c.notNull())
    .addColumn('refund_over_limit_code', 'text', (c) => c.notNull())
    .addColumn('qps_enabled', 'integer', (c) => c.notNull())
    .addColumn('qps_max_amount_fen', money, (c) => c.notNull())
    .addColumn('qps_window_start', 'text', (c) => c.notNull())
    .addColumn('qps_window_end', 'text', (c) => c.notNull())
    .addColumn('qps_daily_amount_fen', money, (c) => c.notNull())
    .addColumn('qps_daily_count', 'integer', (c) => c.notNull())
    .addColumn('qps_entry_modes', 'text', (c) => c.notNull())
    .addColumn('qps_cdcvm', 'integer', (c) => c.notNull())
    .addColumn('qps_no_signature', 'integer', (c) => c.notNull())
    .addColumn('qps_no_signature_limit_fen', money, (c) => c.notNull())
    .addColumn('qps_decline_code', 'text', (c) => c.notNull())
    .addColumn('qps_bin_blacklist', 'text', (c) => c.notNull())
    .addColumn('qps_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('terminals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tid', 'text', (c) => c.notNull().unique())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('serial', 'text')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('tmk', 'text')
    .addColumn('pik', 'text')
    .addColumn('mak', 'text')
    .addColumn('tdk', 'text')
    .addColumn('open_batch', 'integer', (c) => c.notNull())
    .addColumn('last_closed_batch', 'integer')
    .addColumn('supervisor_check', 'text', (c) => c.notNull())
    .addColumn('software_version', 'text')
    .addColumn('last_seen_at', time)
    .addColumn('qps_version_held', 'integer', (c) => c.notNull())
    .addColumn('sign_in_required', 'integer', (c) => c.notNull())
    .addColumn('activation_code_hash', 'text')
    .addColumn('activation_expires_at', time)
    .addColumn('activation_serial', 'text')
    .addColumn('activation_failures', 'integer', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('operators')
    .addColumn('terminal_id', 'text', (c) => c.notNull().references('terminals.id'))
    .addColumn('no', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('password_history', 'text', (c) => c.notNull())
    .addColumn('must_change', 'integer', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('locked_until', time)
    .addColumn('updated_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('operators_pk', ['terminal_id', 'no'])
    .execute();

  await db.schema
    .createTable('supervisor_grants')
    .addColumn('terminal_id', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('cards')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('pan_hash', 'text', (c) => c.notNull().unique())
    .addColumn('pan_enc', 'text', (c) => c.notNull())
    .addColumn('pan_masked', 'text', (c) => c.notNull())
    .addColumn('expiry', 'text', (c) => c.notNull())
    .addColumn('service_code', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('balance_fen', money, (c) => c.notNull())
    .addColumn('credit_limit_fen', money, (c) => c.notNull())
    .addColumn('held_fen', money, (c) => c.notNull())
    .addColumn('pvv', 'text', (c) => c.notNull())
    .addColumn('pvki', 'text', (c) => c.notNull())
    .addColumn('pin_tries', 'integer', (c) => c.notNull())
    .addColumn('pin_tries_day', 'text', (c) => c.notNull())
    .addColumn('pin_required_without_cvm', 'integer', (c) => c.notNull())
    .addColumn('card_org', 'text', (c) => c.notNull())
    .addColumn('issuer_id', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('card_holds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('card_id', 'text', (c) => c.notNull().references('cards.id'))
    .addColumn('amount_fen', money, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('transactions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('terminal_id', 'text', (c) => c.notNull().references('terminals.id'))
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
    .addColumn('batch', 'integer', (c) => c.notNull())
    .addColumn('stan', 'text', (c) => c.notNull())
    .addColumn('local_date', 'text', (c) => c.notNull())
    .addColumn('local_day', 'text', (c) => c.notNull())
    .addColumn('mti', 'text', (c) => c.notNull())
    .addColumn('processing_code', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('amount_fen', money, (c) => c.notNull())
    .addColumn('pan_hash', 'text')
    .addColumn('pan_masked', 'text')
    .addColumn('pan_enc', 'text')
    .addColumn('card_id', 'text')
    .addColumn('hold_id', 'text')
    .addColumn('entry_mode', 'text', (c) => c.notNull())
    .addColumn('password_free', 'integer', (c) => c.notNull())
    .addColumn('rrn', 'text', (c) => c.notNull())
    .addColumn('auth_code', 'text')
    .addColumn('response_code', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('original_id', 'text')
    .addColumn('refunded_fen', money, (c) => c.notNull())
    .addColumn('card_org', 'text')
    .addColumn('reversal_reason', 'text')
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('settlement_date', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addUniqueConstraint('transactions_terminal_batch_stan', ['terminal_id', 'batch', 'stan'])
    .execute();
  await db.schema.createIndex('transactions_merchant_rrn').on('transactions').columns(['merchant_id', 'rrn']).execute();
  await db.schema.createIndex('transactions_card_day').on('transactions').columns(['pan_hash', 'merchant_id', 'local_day']).execute();

  await db.schema
    .createTable('tombstones')
    .addColumn('terminal_id', 'text', (c) => c.notNull())
    .addColumn('batch', 'integer', (c) => c.notNull())
    .addColumn('stan', 'text', (c) => c.notNull())
    .addColumn('processing_code', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('amount_fen', money, (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('tombstones_pk', ['terminal_id', 'batch', 'stan'])
    .execute();

  await db.schema
    .createTable('batches')
    .addColumn('terminal_id', 'text', (c) => c.notNull())
    .addColumn('batch', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('opened_at', time, (c) => c.notNull())
    .addColumn('closed_at', time)
    .addColumn('settlement_response', 'text')
    .addColumn('balanced', 'integer')
    .addPrimaryKeyConstraint('batches_pk', ['terminal_id', 'batch'])
    .execute();

  // An auto-numbered id: SQLite's INTEGER PRIMARY KEY row id, PostgreSQL's identity column.
  const autoId = (table: string, build: (t: ReturnType<typeof withId>) => ReturnType<typeof withId>) => build(withId(table)).execute();
  const withId = (table: string) =>
    db.schema.createTable(table).addColumn('id', 'integer', (c) => (engine === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity()));

  await autoId('batch_upload_items', (t) =>
    t
      .addColumn('terminal_id', 'text', (c) => c.notNull())
      .addColumn('batch', 'integer', (c) => c.notNull())
      .addColumn('stan', 'text', (c) => c.notNull())
      .addColumn('pan_hash', 'text', (c) => c.notNull())
      .addColumn('amount_fen', money, (c) => c.notNull())
      .addColumn('org_flag', 'text', (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull()),
  );
  await autoId('alerts', (t) =>
    t
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('terminal_id', 'text')
      .addColumn('merchant_id', 'text')
      .addColumn('detail', 'text', (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull()),
  );

  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('merchant_id', 'text')
    .addColumn('balance_fen', money, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('postings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('transaction_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('postings_transaction').on('postings').column('transaction_id').execute();
  await autoId('posting_lines', (t) =>
    t
      .addColumn('posting_id', 'text', (c) => c.notNull().references('postings.id'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
      .addColumn('amount_fen', money, (c) => c.notNull()),
  );
  await db.schema.createIndex('posting_lines_posting').on('posting_lines').column('posting_id').execute();
  await db.schema.createIndex('posting_lines_account').on('posting_lines').column('account_id').execute();

  await autoId('audit_events', (t) =>
    t
      .addColumn('at', time, (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull()),
  );

  await db.schema
    .createTable('sequences')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'bigint', (c) => c.notNull())
    .execute();
}

async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['sequences', 'audit_events', 'posting_lines', 'postings', 'accounts', 'alerts', 'batch_upload_items', 'batches', 'tombstones', 'transactions', 'card_holds', 'cards', 'supervisor_grants', 'operators', 'terminals', 'merchants']) {
    await db.schema.dropTable(table).execute();
  }
}
