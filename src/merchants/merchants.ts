import { randomInt } from 'node:crypto';
import type { Kysely, Transaction, Updateable } from 'kysely';
import { weakPinReason } from '../crypto/index.js';
import { ensureMerchantAccounts } from '../ledger/index.js';
import type { KeyBlock } from '../hsm/index.js';
import type { Database, MerchantsTable, OperatorsTable, TerminalsTable } from '../store/index.js';
import { invalidateCommitted, newId } from '../store/index.js';

/** Merchants, their terminals and the terminals' operators. */
type Db = Kysely<Database> | Transaction<Database>;

export type Merchant = MerchantsTable;
/** A terminal row, its keys typed as the LMK-wrapped key blocks they are. */
export type Terminal = Omit<TerminalsTable, 'tmk' | 'pik' | 'mak' | 'tdk'> & {
  tmk: KeyBlock | null;
  pik: KeyBlock | null;
  mak: KeyBlock | null;
  tdk: KeyBlock | null;
};
export type Operator = OperatorsTable;

/** Password-free (QPS, 小额免密免签) settings of a merchant, protocol §9. */
export interface PasswordFreeSettings {
  readonly enabled: boolean;
  readonly maxAmountFen: number;
  readonly windowStart: string; // HHMM, merchant-local
  readonly windowEnd: string;
  readonly dailyAmountFen: number;
  readonly dailyCount: number;
  readonly entryModes: readonly string[];
  readonly cdcvm: boolean;
  readonly noSignature: boolean;
  readonly noSignatureLimitFen: number;
  readonly declineCode: string;
  readonly binBlacklist: readonly string[];
}

export const PASSWORD_FREE_DEFAULTS: PasswordFreeSettings = {
  enabled: true,
  maxAmountFen: 100_000,
  windowStart: '0900',
  windowEnd: '2200',
  dailyAmountFen: 300_000,
  dailyCount: 10,
  entryModes: ['07', '98'],
  cdcvm: true,
  noSignature: true,
  noSignatureLimitFen: 100_000,
  declineCode: '55',
  binBlacklist: [],
};

export const DEFAULT_FEE_RATE_PPM = 6_000; // 0.60 %
export const DEFAULT_TIMEZONE = 'Asia/Shanghai';

export function passwordFreeOf(m: Merchant): PasswordFreeSettings {
  return {
    enabled: m.qps_enabled === 1,
    maxAmountFen: m.qps_max_amount_fen,
    windowStart: m.qps_window_start,
    windowEnd: m.qps_window_end,
    dailyAmountFen: m.qps_daily_amount_fen,
    dailyCount: m.qps_daily_count,
    entryModes: m.qps_entry_modes.split(',').filter(Boolean),
    cdcvm: m.qps_cdcvm === 1,
    noSignature: m.qps_no_signature === 1,
    noSignatureLimitFen: m.qps_no_signature_limit_fen,
    declineCode: m.qps_decline_code,
    binBlacklist: m.qps_bin_blacklist.split(',').filter(Boolean),
  };
}

function passwordFreeColumns(s: PasswordFreeSettings) {
  return {
    qps_enabled: s.enabled ? 1 : 0,
    qps_max_amount_fen: s.maxAmountFen,
    qps_window_start: s.windowStart,
    qps_window_end: s.windowEnd,
    qps_daily_amount_fen: s.dailyAmountFen,
    qps_daily_count: s.dailyCount,
    qps_entry_modes: s.entryModes.join(','),
    qps_cdcvm: s.cdcvm ? 1 : 0,
    qps_no_signature: s.noSignature ? 1 : 0,
    qps_no_signature_limit_fen: s.noSignatureLimitFen,
    qps_decline_code: s.declineCode,
    qps_bin_blacklist: s.binBlacklist.join(','),
  };
}

export interface NewMerchant {
  readonly mid: string;
  readonly name: string;
  readonly mcc: string;
  readonly timezone?: string;
  readonly feeRatePpm?: number;
  readonly passwordFree?: Partial<PasswordFreeSettings>;
}

export async function createMerchant(trx: Transaction<Database>, m: NewMerchant, now = Date.now()): Promise<Merchant> {
  if (!/^[\x21-\x7e]{1,15}$/.test(m.mid)) throw new RangeError('a merchant ID (field 42) is 1–15 printable characters');
  const row: Merchant = {
    id: newId('mch'),
    mid: m.mid,
    name: m.name,
    status: 'active',
    timezone: m.timezone ?? DEFAULT_TIMEZONE,
    mcc: m.mcc,
    fee_rate_ppm: m.feeRatePpm ?? DEFAULT_FEE_RATE_PPM,
    refund_over_limit_code: '61',
    ...passwordFreeColumns({ ...PASSWORD_FREE_DEFAULTS, ...m.passwordFree }),
    qps_version: 1,
    created_at: now,
  };
  await trx.insertInto('merchants').values(row).execute();
  await ensureMerchantAccounts(trx, row.id);
  return row;
}

/** The entry modes a merchant may let pay without a PIN (§9.1): contactless, QR, contactless stripe, mobile. */
export const PASSWORD_FREE_MODES = ['07', '98', '03', '91', '96'] as const;

/** What is wrong with these password-free settings (§9), or null: the first problem, as a sentence. */
export function passwordFreeProblem(s: PasswordFreeSettings): string | null {
  const hhmm = /^([01][0-9]|2[0-3])[0-5][0-9]$/;
  const fen = (n: number) => Number.isSafeInteger(n) && n >= 0 && n <= 999_999_999_999;
  if (!fen(s.maxAmountFen) || s.maxAmountFen === 0) return 'the no-PIN limit is a positive amount of at most 12 digits of fen';
  if (!hhmm.test(s.windowStart) || !hhmm.test(s.windowEnd)) return 'the window is two times of day, HHMM (start = end: all day)';
  if (!fen(s.dailyAmountFen) || s.dailyAmountFen === 0) return 'the daily amount cap is a positive amount of at most 12 digits of fen';
  if (!Number.isSafeInteger(s.dailyCount) || s.dailyCount < 1 || s.dailyCount > 999) return 'the daily count cap is 1 to 999';
  if (s.entryModes.length === 0 || !s.entryModes.every((m) => (PASSWORD_FREE_MODES as readonly string[]).includes(m))) return `the entry modes are some of ${PASSWORD_FREE_MODES.join(', ')}`;
  if (!fen(s.noSignatureLimitFen)) return 'the no-signature limit is an amount of at most 12 digits of fen';
  if (!['55', '61', '65'].includes(s.declineCode)) return 'the decline code is 55, 61 or 65';
  if (!s.binBlacklist.every((b) => /^[0-9]{6,10}$/.test(b))) return 'a blacklisted BIN is 6 to 10 digits';
  return null;
}

/** Changes the password-free settings and bumps their version, so terminals are told to re-download (§9.3). */
export async function setPasswordFree(trx: Transaction<Database>, merchantId: string, settings: PasswordFreeSettings): Promise<void> {
  const problem = passwordFreeProblem(settings);
  if (problem !== null) throw new RangeError(problem);
  const current = await trx.selectFrom('merchants').select('qps_version').where('id', '=', merchantId).executeTakeFirstOrThrow();
  await trx
    .updateTable('merchants')
    .set({ ...passwordFreeColumns(settings), qps_version: current.qps_version + 1 })
    .where('id', '=', merchantId)
    .execute();
}

/** A merchant as lists show it: its terminals counted, its fee in percent. */
export interface MerchantSummary {
  readonly mid: string;
  readonly name: string;
  readonly status: string;
  readonly mcc: string;
  readonly fee_rate_pct: number;
  readonly terminals: number;
}

export async function merchantSummaries(db: Db): Promise<MerchantSummary[]> {
  const rows = await db
    .selectFrom('merchants')
    .leftJoin('terminals', 'terminals.merchant_id', 'merchants.id')
    .select(['merchants.mid', 'merchants.name', 'merchants.status', 'merchants.mcc', 'merchants.fee_rate_ppm', (eb) => eb.fn.count<number>('terminals.id').as('terminals')])
    .groupBy(['merchants.id', 'merchants.mid', 'merchants.name', 'merchants.status', 'merchants.mcc', 'merchants.fee_rate_ppm'])
    .orderBy('merchants.mid')
    .execute();
  return rows.map((r) => ({ mid: r.mid, name: r.name, status: r.status, mcc: r.mcc, fee_rate_pct: r.fee_rate_ppm / 10_000, terminals: Number(r.terminals) }));
}

/** A terminal as lists show it: which merchant, its device, whether it holds keys, its batch, when it was last heard from. */
export interface TerminalSummary {
  readonly tid: string;
  readonly mid: string;
  readonly serial: string | null;
  readonly status: string;
  readonly supervisor_check: string;
  readonly has_tmk: boolean;
  readonly signed_in: boolean;
  readonly open_batch: number;
  readonly software_version: string | null;
  /** ISO 8601, or null when never */
  readonly last_seen: string | null;
  /** an activation code was issued and has not expired */
  readonly activation_pending: boolean;
}

export async function terminalSummaries(db: Db, mid?: string, now = Date.now()): Promise<TerminalSummary[]> {
  let q = db
    .selectFrom('terminals')
    .innerJoin('merchants', 'merchants.id', 'terminals.merchant_id')
    .select(['terminals.tid', 'merchants.mid', 'terminals.serial', 'terminals.status', 'terminals.supervisor_check', 'terminals.tmk', 'terminals.pik', 'terminals.open_batch', 'terminals.software_version', 'terminals.last_seen_at', 'terminals.activation_expires_at'])
    .orderBy('terminals.tid');
  if (mid !== undefined) q = q.where('merchants.mid', '=', mid);
  return (await q.execute()).map((t) => ({
    tid: t.tid,
    mid: t.mid,
    serial: t.serial,
    status: t.status,
    supervisor_check: t.supervisor_check,
    has_tmk: t.tmk !== null,
    signed_in: t.pik !== null,
    open_batch: t.open_batch,
    software_version: t.software_version,
    last_seen: t.last_seen_at === null ? null : new Date(t.last_seen_at).toISOString(),
    activation_pending: t.activation_expires_at !== null && t.activation_expires_at > now,
  }));
}

export async function merchantById(db: Db, id: string): Promise<Merchant | undefined> {
  return db.selectFrom('merchants').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function merchantByMid(db: Db, mid: string): Promise<Merchant | undefined> {
  return db.selectFrom('merchants').selectAll().where('mid', '=', mid).executeTakeFirst();
}

export interface NewTerminal {
  readonly merchantId: string;
  readonly tid: string;
  readonly serial?: string;
  readonly model?: string;
  readonly name?: string;
  readonly supervisorCheck?: 'host' | 'terminal';
}

export async function createTerminal(trx: Transaction<Database>, t: NewTerminal, now = Date.now()): Promise<Terminal> {
  if (!/^[0-9]{8}$/.test(t.tid)) throw new RangeError('posgate terminal IDs are 8 decimal digits');
  const row: Terminal = {
    id: newId('trm'),
    tid: t.tid,
    merchant_id: t.merchantId,
    serial: t.serial ?? null,
    model: t.model ?? 'posgate-soft',
    name: t.name ?? t.tid,
    status: 'active',
    tmk: null,
    pik: null,
    mak: null,
    tdk: null,
    open_batch: 1,
    last_closed_batch: null,
    supervisor_check: t.supervisorCheck ?? 'terminal',
    software_version: null,
    last_seen_at: null,
    qps_version_held: 0,
    qps_version_offered: null,
    sign_in_required: 0,
    activation_code_hash: null,
    activation_expires_at: null,
    activation_serial: null,
    activation_failures: 0,
    created_at: now,
  };
  await trx.insertInto('terminals').values(row).execute();
  await trx.insertInto('batches').values({ terminal_id: row.id, batch: 1, status: 'open', opened_at: now, closed_at: null, settlement_response: null, balanced: null }).execute();
  return row;
}

/** The next free terminal ID: one above the highest (8 decimal digits), 10000001 for the first. */
export async function nextTid(db: Db): Promise<string> {
  const row = await db.selectFrom('terminals').select((eb) => eb.fn.max('tid').as('tid')).executeTakeFirst();
  const highest = row?.tid && /^[0-9]{8}$/.test(row.tid) ? Number(row.tid) : 10_000_000;
  if (highest >= 99_999_999) throw new RangeError('no terminal ID left above the highest one: give one');
  return String(highest + 1);
}

export async function terminalByTid(db: Db, tid: string): Promise<Terminal | undefined> {
  return (await db.selectFrom('terminals').selectAll().where('tid', '=', tid).executeTakeFirst()) as Terminal | undefined;
}

export async function terminalById(db: Db, id: string): Promise<Terminal | undefined> {
  return (await db.selectFrom('terminals').selectAll().where('id', '=', id).executeTakeFirst()) as Terminal | undefined;
}

/**
 * Asks terminals to sign in again (§1.3 processing request 3) for new working keys: the terminal
 * `tid`, every terminal of merchant `mid`, or every terminal (neither). Returns the TIDs asked.
 */
export async function requireSignIn(trx: Transaction<Database>, which: { readonly tid?: string; readonly mid?: string }): Promise<string[]> {
  let q = trx.selectFrom('terminals').innerJoin('merchants', 'merchants.id', 'terminals.merchant_id').select(['terminals.id', 'terminals.tid']).where('terminals.tmk', 'is not', null);
  if (which.tid !== undefined) q = q.where('terminals.tid', '=', which.tid);
  if (which.mid !== undefined) q = q.where('merchants.mid', '=', which.mid);
  const rows = await q.orderBy('terminals.tid').execute();
  for (const r of rows) await updateTerminal(trx, r.id, { sign_in_required: 1 });
  return rows.map((r) => r.tid);
}

export type TerminalPatch = Omit<Updateable<TerminalsTable>, 'id' | 'tid' | 'merchant_id' | 'created_at'>;

export async function updateTerminal(db: Db, id: string, patch: TerminalPatch): Promise<void> {
  // a terminal's open batch is kept between transactions by the host (open-batch.ts): a new one makes it read again
  if (patch.open_batch !== undefined) invalidateCommitted(db);
  await db.updateTable('terminals').set(patch).where('id', '=', id).execute();
}

export type OperatorRole = 'admin' | 'supervisor' | 'cashier';

/** 99 system administrator (8 digits), 00 supervisor (6), 01–98 cashiers (4). */
export function operatorRole(no: string): OperatorRole {
  if (no === '99') return 'admin';
  if (no === '00') return 'supervisor';
  return 'cashier';
}

export function operatorPasswordLength(role: OperatorRole): number {
  return role === 'admin' ? 8 : role === 'supervisor' ? 6 : 4;
}

export async function putOperator(trx: Transaction<Database>, terminalId: string, no: string, passwordHash: string, mustChange: boolean, now = Date.now()): Promise<void> {
  if (!/^[0-9]{2}$/.test(no)) throw new RangeError('operator numbers are 2 digits');
  await trx
    .insertInto('operators')
    .values({ terminal_id: terminalId, no, role: operatorRole(no), password_hash: passwordHash, password_history: '[]', must_change: mustChange ? 1 : 0, failures: 0, locked_until: null, lockouts: 0, updated_at: now })
    .onConflict((oc) => oc.columns(['terminal_id', 'no']).doUpdateSet({ password_hash: passwordHash, must_change: mustChange ? 1 : 0, failures: 0, locked_until: null, lockouts: 0, updated_at: now }))
    .execute();
}

/** A random password of the role's length that §10.3's rules accept: not one digit repeated, not a run. */
export function randomOperatorPassword(role: OperatorRole): string {
  for (;;) {
    let password = '';
    for (let i = 0; i < operatorPasswordLength(role); i++) password += String(randomInt(0, 10));
    if (weakPinReason(password) === null) return password;
  }
}

/** The operators a new terminal starts with: the administrator, the supervisor and one cashier. */
export const FIRST_OPERATORS = ['99', '00', '01'] as const;

/**
 * A secret made and hashed before the transaction that stores it: argon2id takes tens of
 * milliseconds, too long to hold SQLite's write lock (and the host's next group) for. The clear
 * form is shown once; only the hash is stored.
 */
export interface HashedSecret {
  readonly clear: string;
  readonly hash: string;
}

export interface OperatorPassword extends HashedSecret {
  readonly no: string;
  readonly role: OperatorRole;
}

/** A random one-time password for operator `no` (see randomOperatorPassword), hashed. */
export async function operatorPassword(no: string, hashPassword: (clear: string) => Promise<string>): Promise<OperatorPassword> {
  if (!/^[0-9]{2}$/.test(no)) throw new RangeError('operator numbers are 2 digits');
  const role = operatorRole(no);
  const clear = randomOperatorPassword(role);
  return { no, role, clear, hash: await hashPassword(clear) };
}

/** One-time passwords for a new terminal's first operators (FIRST_OPERATORS): the administrator, the supervisor and one cashier. */
export async function firstOperatorPasswords(hashPassword: (clear: string) => Promise<string>): Promise<OperatorPassword[]> {
  const out: OperatorPassword[] = [];
  for (const no of FIRST_OPERATORS) out.push(await operatorPassword(no, hashPassword));
  return out;
}

/** Gives a new terminal its first operators, each with its one-time password (to be changed at first use). */
export async function provisionOperators(trx: Transaction<Database>, terminalId: string, passwords: readonly OperatorPassword[], now = Date.now()): Promise<void> {
  for (const p of passwords) await putOperator(trx, terminalId, p.no, p.hash, true, now);
}

/**
 * A support-assisted reset (or a new operator): the operator gets the one-time password `p`, to
 * be changed at first use, and any lock is lifted. The old password goes into the history, so it
 * cannot be chosen again (§10.3). Says whether the operator is new.
 */
export async function resetOperator(trx: Transaction<Database>, terminalId: string, p: OperatorPassword, now = Date.now()): Promise<{ created: boolean }> {
  const current = await operator(trx, terminalId, p.no);
  if (!current) {
    await putOperator(trx, terminalId, p.no, p.hash, true, now);
    return { created: true };
  }
  const history = JSON.parse(current.password_history) as string[];
  await updateOperator(trx, terminalId, p.no, { password_hash: p.hash, password_history: JSON.stringify([current.password_hash, ...history].slice(0, 3)), must_change: 1, failures: 0, locked_until: null, lockouts: 0, updated_at: now });
  return { created: false };
}

export async function operator(db: Db, terminalId: string, no: string): Promise<Operator | undefined> {
  return db.selectFrom('operators').selectAll().where('terminal_id', '=', terminalId).where('no', '=', no).executeTakeFirst();
}

export async function updateOperator(db: Db, terminalId: string, no: string, patch: Partial<Pick<Operator, 'password_hash' | 'password_history' | 'must_change' | 'failures' | 'locked_until' | 'lockouts' | 'updated_at'>>): Promise<void> {
  await db.updateTable('operators').set(patch).where('terminal_id', '=', terminalId).where('no', '=', no).execute();
}

/** A one-time activation code (protocol §10.1): 12 random digits, hashed. */
export async function newActivationCode(hashPassword: (clear: string) => Promise<string>): Promise<HashedSecret> {
  let clear = '';
  for (let i = 0; i < 12; i++) clear += String(randomInt(0, 10));
  return { clear, hash: await hashPassword(clear) };
}

/**
 * Sets a terminal's activation code: valid 24 hours, bound to the serial number when one is given;
 * a new code voids the previous one. Only its argon2id hash is stored; the code is shown once, to
 * the installer.
 */
export async function issueActivationCode(trx: Transaction<Database>, terminalId: string, code: HashedSecret, serial: string | null, ttlMs = 24 * 3600_000, now = Date.now()): Promise<void> {
  await trx
    .updateTable('terminals')
    .set({ activation_code_hash: code.hash, activation_expires_at: now + ttlMs, activation_serial: serial, activation_failures: 0 })
    .where('id', '=', terminalId)
    .execute();
}
