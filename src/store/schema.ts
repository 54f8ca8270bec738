import type { Generated } from 'kysely';

/**
 * The tables, as Kysely sees them. Money is integer fen, times are UTC milliseconds, PANs are
 * stored only as { keyed hash, ciphertext, masked } (see hsm `protectPan`). Each domain reads and
 * writes its own tables through its module; this file only describes them.
 */
export interface MerchantsTable {
  id: string;
  mid: string;
  name: string;
  status: string; // active | suspended | closed
  timezone: string;
  mcc: string;
  fee_rate_ppm: number; // 6000 = 0.60 %
  refund_over_limit_code: string;
  qps_enabled: number;
  qps_max_amount_fen: number;
  qps_window_start: string; // HHMM
  qps_window_end: string;
  qps_daily_amount_fen: number;
  qps_daily_count: number;
  qps_entry_modes: string; // comma-separated 2-digit entry modes
  qps_cdcvm: number;
  qps_no_signature: number;
  qps_no_signature_limit_fen: number;
  qps_decline_code: string;
  qps_bin_blacklist: string; // comma-separated BIN prefixes
  qps_version: number;
  created_at: number;
}

export interface TerminalsTable {
  id: string;
  tid: string;
  merchant_id: string;
  serial: string | null;
  model: string;
  name: string;
  status: string; // active | disabled
  tmk: string | null; // key blocks under the LMK
  pik: string | null;
  mak: string | null;
  tdk: string | null;
  open_batch: number;
  last_closed_batch: number | null;
  supervisor_check: string; // host | terminal
  software_version: string | null;
  last_seen_at: number | null;
  qps_version_held: number;
  /** the version sent in the terminal's last 394; its 395 makes it the one held */
  qps_version_offered: number | null;
  sign_in_required: number;
  activation_code_hash: string | null;
  activation_expires_at: number | null;
  activation_serial: string | null;
  activation_failures: number;
  created_at: number;
}

export interface OperatorsTable {
  terminal_id: string;
  no: string;
  role: string; // admin (99) | supervisor (00) | cashier (01–98)
  password_hash: string;
  password_history: string; // JSON array of previous hashes, newest first
  must_change: number;
  failures: number;
  locked_until: number | null;
  /** locks in a row since the last right password: each lasts twice the one before, up to a day */
  lockouts: number;
  updated_at: number;
}

export interface SupervisorGrantsTable {
  terminal_id: string;
  expires_at: number;
}

export interface CardsTable {
  id: string;
  pan_hash: string;
  pan_enc: string;
  pan_masked: string;
  expiry: string; // YYMM
  service_code: string;
  kind: string; // debit | credit
  status: string; // active | lost | stolen | expired | blocked
  balance_fen: number; // debit: funds; credit: amount owed
  credit_limit_fen: number;
  held_fen: number;
  pvv: string;
  pvki: string;
  pin_tries: number;
  pin_tries_day: string;
  pin_required_without_cvm: number;
  card_org: string;
  issuer_id: string;
  /** the system key (usage cvk) behind the stripe's CVV; null: the stripe carries none */
  cvk: string | null;
  /** the system key (usage imk-ac) the chip's cryptogram key derives from; null: no chip application */
  imk_ac: string | null;
  /** the highest ATC seen from the card's chip; a cryptogram with one not above it is a replay */
  last_atc: number | null;
  created_at: number;
}

export interface CardHoldsTable {
  id: string;
  card_id: string;
  amount_fen: number;
  status: string; // held | completed | released | expired (older than the issuer's hold days)
  created_at: number;
}

export interface TransactionsTable {
  id: string;
  terminal_id: string;
  merchant_id: string;
  batch: number;
  stan: string;
  local_date: string; // MMDD of the response's field 13
  local_day: string; // YYYY-MM-DD merchant-local
  mti: string;
  processing_code: string;
  type: string; // 60.1
  amount_fen: number;
  pan_hash: string | null;
  pan_masked: string | null;
  pan_enc: string | null;
  card_id: string | null;
  hold_id: string | null;
  entry_mode: string;
  password_free: number;
  rrn: string;
  auth_code: string | null;
  response_code: string;
  status: string; // approved | declined | reversed | voided | completed (pre-auth) | tombstone (a reversal found nothing)
  original_id: string | null;
  refunded_fen: number;
  card_org: string | null;
  reversal_reason: string | null;
  response: string; // JSON: the response fields as first sent, for retransmissions
  settlement_date: string | null;
  created_at: number;
  updated_at: number;
}


export interface BatchesTable {
  terminal_id: string;
  batch: number;
  status: string; // open | closed
  opened_at: number;
  closed_at: number | null;
  settlement_response: string | null; // JSON of the 0510 fields
  balanced: number | null;
}

export interface BatchUploadItemsTable {
  id: Generated<number>;
  terminal_id: string;
  batch: number;
  stan: string;
  pan_hash: string;
  amount_fen: number;
  org_flag: string;
  created_at: number;
}

export interface AlertsTable {
  id: Generated<number>;
  kind: string;
  terminal_id: string | null;
  merchant_id: string | null;
  detail: string;
  created_at: number;
}

export interface AccountsTable {
  id: string;
  code: string;
  kind: string;
  merchant_id: string | null;
  balance_fen: number; // debits positive, credits negative
}

export interface PostingsTable {
  id: string;
  transaction_id: string | null;
  kind: string;
  created_at: number;
}

export interface PostingLinesTable {
  id: Generated<number>;
  posting_id: string;
  account_id: string;
  amount_fen: number; // debit > 0, credit < 0; the lines of a posting sum to 0
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  subject: string;
  outcome: string;
  detail: string;
  prev_hash: string;
  hash: string;
}

export interface SequencesTable {
  name: string;
  value: number;
}

export interface SystemKeysTable {
  name: string;
  key_block: string;
  kcv: string;
  created_at: number;
}

export interface HostLeasesTable {
  /** `*` for an SQLite database (one host), else the RRN node id */
  node: string;
  holder: string;
  hostname: string;
  pid: number;
  started_at: number;
  renewed_at: number;
}

export interface Database {
  merchants: MerchantsTable;
  terminals: TerminalsTable;
  operators: OperatorsTable;
  supervisor_grants: SupervisorGrantsTable;
  cards: CardsTable;
  card_holds: CardHoldsTable;
  transactions: TransactionsTable;
  batches: BatchesTable;
  batch_upload_items: BatchUploadItemsTable;
  alerts: AlertsTable;
  accounts: AccountsTable;
  postings: PostingsTable;
  posting_lines: PostingLinesTable;
  audit_events: AuditEventsTable;
  sequences: SequencesTable;
  system_keys: SystemKeysTable;
  host_leases: HostLeasesTable;
}
