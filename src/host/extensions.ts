import type { Transaction } from 'kysely';
import { parseActivationRequest } from '../crypto/index.js';
import { HsmError } from '../hsm/index.js';
import { lockedOn, type Database, type Engine } from '../store/index.js';
import { operatorPasswordLength, operatorRole, terminalById, updateOperator, updateTerminal, type Operator } from '../merchants/index.js';
import { RC } from './catalogue.js';
import type { HostConfig } from './config.js';
import type { Ctx } from './context.js';
import type { ManagementResult } from './management.js';
import { reply } from './management.js';

/**
 * posgate extensions (protocol §10): 901 activation with remote TMK loading, 902 operator
 * verification, 903 operator password change. Slow checks (argon2id) run outside any database
 * transaction. The try is counted (and a lock set) in a unit of its own before the check, and the
 * outcome audited in one after it.
 */

type Trx = Transaction<Database>;

/** A hash to spend the same time on when there is nothing to compare with, so timing tells nothing. */
let dummyHash: Promise<string> | undefined;

export async function handleActivation(ctx: Ctx): Promise<ManagementResult> {
  const { deps, terminal, req, link } = ctx;
  if (!/^[0-9]{8}$/.test(terminal.tid)) return { reply: reply(ctx, RC.formatError) };
  const audit = (outcome: 'success' | 'failure', reason: string) =>
    deps.store.transact((trx) => deps.audit.append(trx, { actor: `terminal:${terminal.tid}`, action: 'terminal.activation', subject: terminal.id, outcome, detail: { reason, remote: link.remote } }, ctx.now));
  if (deps.config.activationRequireTls && !link.tls && !link.loopback) {
    await audit('failure', 'no_tls');
    return { reply: reply(ctx, RC.securityViolation) };
  }
  const field62 = req.bytes(62)!;
  const parsed = parseActivationRequest(field62);
  if (!parsed) return { reply: reply(ctx, RC.formatError) };
  // The try is counted before the code is checked: tries made at once, on many connections, can
  // never check more than activationTriesMax codes.
  const tries = await deps.store.transact((trx) => activationTry(trx, deps.store.engine, terminal.id, deps.config.activationTriesMax));
  if (tries === 'used_up') {
    await audit('failure', 'locked');
    return { reply: reply(ctx, RC.pinTriesExceeded) };
  }
  const hash = terminal.activation_code_hash;
  const codeOk = hash !== null && (await deps.hsm.verifyPassword(parsed.code, hash));
  const valid = codeOk && terminal.activation_expires_at !== null && terminal.activation_expires_at > ctx.now && (terminal.activation_serial === null || terminal.activation_serial === parsed.serial);
  if (!valid) {
    await deps.store.transact((trx) => deps.audit.append(trx, { actor: `terminal:${terminal.tid}`, action: 'terminal.activation', subject: terminal.id, outcome: 'failure', detail: { reason: 'code', failures: tries.count } }, ctx.now));
    return { reply: reply(ctx, tries.last ? RC.pinTriesExceeded : RC.wrongPin) };
  }
  let result;
  try {
    result = await deps.hsm.activateTerminal({ tid: terminal.tid, mid: ctx.merchant.mid, request62: field62, terminalPublicKey: parsed.publicKey });
  } catch (err) {
    if (err instanceof HsmError && err.code === 'invalid_input') return { reply: reply(ctx, RC.formatError) };
    throw err;
  }
  // The code is used once: of activations checked at the same time, the first to get here takes
  // it; the others (and one whose code was replaced meanwhile) find it gone and are answered 55.
  const taken = await deps.store.transact(async (trx) => {
    const current = await lockedOn(deps.store.engine, trx.selectFrom('terminals').select('activation_code_hash').where('id', '=', terminal.id)).executeTakeFirst();
    if (current?.activation_code_hash !== hash) return false;
    await updateTerminal(trx, terminal.id, {
      tmk: result.tmk.key,
      pik: null,
      mak: null,
      tdk: null,
      serial: parsed.serial,
      activation_code_hash: null,
      activation_expires_at: null,
      activation_failures: 0,
      sign_in_required: 1,
      supervisor_check: 'host',
    });
    await deps.audit.append(trx, { actor: `terminal:${terminal.tid}`, action: 'terminal.activation', subject: terminal.id, outcome: 'success', detail: { serial: parsed.serial, tmk_kcv: result.tmk.kcv } }, ctx.now);
    return true;
  });
  if (!taken) {
    await audit('failure', 'code_used');
    return { reply: reply(ctx, RC.wrongPin) };
  }
  const after = (await terminalById(deps.store.read, terminal.id))!;
  return { reply: reply(ctx, RC.approved, { 62: result.response62 }), terminal: after };
}

/**
 * One try at a terminal's activation code, taken before the code is checked (as operatorTry does
 * for passwords): tries made at once never check more than activationTriesMax codes. A successful
 * activation sets the count back to 0.
 */
async function activationTry(trx: Trx, engine: Engine, terminalId: string, max: number): Promise<{ count: number; last: boolean } | 'used_up'> {
  const used = (await lockedOn(engine, trx.selectFrom('terminals').select('activation_failures').where('id', '=', terminalId)).executeTakeFirst())?.activation_failures ?? max;
  if (used >= max) return 'used_up';
  await updateTerminal(trx, terminalId, { activation_failures: used + 1 });
  return { count: used + 1, last: used + 1 >= max };
}

/** `rehashed`: the right password's keyed hash, when the operator's was of the older, unkeyed form. */
type PasswordCheck = { ok: true; op: Operator; rehashed?: string } | { ok: false; rc: string };

/** The password check shared by 902 and 903 (§10.2): 99, 75, 55, or the operator. */
async function checkOperatorPassword(ctx: Ctx, action: string): Promise<PasswordCheck> {
  const { deps, terminal, req } = ctx;
  const no = req.operatorNo;
  const input = { account: `0000${terminal.tid}`, block: req.bytes(52)!, under: { key: terminal.pik!, format: 0 as const } };
  if (!(await deps.hsm.checkPinBlock(input))) return { ok: false, rc: RC.pinFormatError };
  const audit = (outcome: 'success' | 'failure', detail: Readonly<Record<string, string | number | boolean | null>>) =>
    deps.store.transact((trx) => deps.audit.append(trx, { actor: `terminal:${terminal.tid}`, action, subject: `operator:${terminal.tid}:${no ?? '??'}`, outcome, detail }, ctx.now));
  // The try is taken before the password is checked (operatorTry): tries made at once can never
  // check more than operatorTriesMax passwords, and the one that reaches the limit locks.
  const taken = no === undefined ? undefined : await deps.store.transact((trx) => operatorTry(trx, deps.store.engine, terminal.id, no, deps.config, ctx.now));
  if (taken === 'locked') {
    await audit('failure', { reason: 'locked' });
    return { ok: false, rc: RC.pinTriesExceeded };
  }
  dummyHash ??= deps.hsm.hashPassword('posgate-timing-equaliser');
  const verdict = await deps.hsm.verifyPasswordBlock(input, taken?.op.password_hash ?? (await dummyHash));
  if (!taken || !verdict.ok) {
    await audit('failure', { reason: taken ? 'wrong_password' : 'unknown_operator', locked: taken?.last === true });
    return { ok: false, rc: taken?.last ? RC.pinTriesExceeded : RC.wrongPin };
  }
  return { ok: true, op: taken.op, ...(verdict.rehashed ? { rehashed: verdict.rehashed } : {}) };
}

/**
 * Puts the keyed hash of a right password in place of the unkeyed one it was checked against, unless
 * the password changed meanwhile: a database copied later gives no offline guesses at it.
 */
async function keepRehashed(trx: Trx, terminalId: string, op: Operator, rehashed: string | undefined): Promise<void> {
  if (rehashed === undefined) return;
  await trx.updateTable('operators').set({ password_hash: rehashed }).where('terminal_id', '=', terminalId).where('no', '=', op.no).where('password_hash', '=', op.password_hash).execute();
}

/**
 * One try at an operator's password, taken before it is checked: the failure count goes up now
 * (the success that follows sets it back to 0), and the try that reaches the limit locks the
 * operator at once. So tries made at once, on many connections, never check more than
 * operatorTriesMax passwords: each takes its try in a transaction of its own, one after another
 * (SQLite has one writer; PostgreSQL locks the row).
 */
async function operatorTry(trx: Trx, engine: Engine, terminalId: string, no: string, config: HostConfig, now: number): Promise<{ op: Operator; last: boolean } | 'locked' | undefined> {
  const op = await lockedOn(engine, trx.selectFrom('operators').selectAll().where('terminal_id', '=', terminalId).where('no', '=', no)).executeTakeFirst();
  if (!op) return undefined;
  if (op.locked_until !== null && (op.locked_until === 0 || op.locked_until > now)) return 'locked';
  const failures = op.failures + 1;
  const last = failures >= config.operatorTriesMax;
  const lockedUntil = last ? (config.operatorLockMinutes === 0 ? 0 : now + lockMinutes(config, op.lockouts) * 60_000) : null;
  await updateOperator(trx, terminalId, no, { failures: last ? 0 : failures, locked_until: lockedUntil, lockouts: last ? op.lockouts + 1 : op.lockouts, updated_at: now });
  return { op, last };
}

/**
 * A lock's length after `before` locks in a row: 30, 60, 120 … minutes, then a day. With a lock that
 * always lifted after 30 minutes, a 4-digit password took 240 guesses a day, so fell in about six
 * weeks; doubling holds it to a few guesses a day once the first day is past.
 */
function lockMinutes(config: Pick<HostConfig, 'operatorLockMinutes' | 'operatorLockMinutesMax'>, before: number): number {
  return Math.min(config.operatorLockMinutes * 2 ** Math.min(before, 30), Math.max(config.operatorLockMinutes, config.operatorLockMinutesMax));
}

export async function handleOperatorVerify(ctx: Ctx): Promise<ManagementResult> {
  const { deps, terminal } = ctx;
  if (!/^[0-9]{8}$/.test(terminal.tid)) return { reply: reply(ctx, RC.formatError, echo63(ctx)) };
  const check = await checkOperatorPassword(ctx, 'operator.verify');
  if (!check.ok) return { reply: reply(ctx, check.rc, echo63(ctx)) };
  await deps.store.transact(async (trx) => {
    await updateOperator(trx, terminal.id, check.op.no, { failures: 0, locked_until: null, lockouts: 0, updated_at: ctx.now });
    await keepRehashed(trx, terminal.id, check.op, check.rehashed);
    if (check.op.no === '00') {
      const expires = ctx.now + deps.config.operatorGrantSeconds * 1000;
      await trx.insertInto('supervisor_grants').values({ terminal_id: terminal.id, expires_at: expires }).onConflict((oc) => oc.column('terminal_id').doUpdateSet({ expires_at: expires })).execute();
    }
    await deps.audit.append(trx, { actor: `terminal:${terminal.tid}`, action: 'operator.verify', subject: `operator:${terminal.tid}:${check.op.no}`, outcome: 'success', detail: { grant: check.op.no === '00' } }, ctx.now);
  });
  return { reply: reply(ctx, RC.approved, echo63(ctx)) };
}

export async function handleOperatorPassword(ctx: Ctx): Promise<ManagementResult> {
  const { deps, terminal, req } = ctx;
  if (!/^[0-9]{8}$/.test(terminal.tid)) return { reply: reply(ctx, RC.formatError, echo63(ctx)) };
  const newBlock = req.bytes(62)!;
  if (newBlock.length !== 8) return { reply: reply(ctx, RC.formatError, echo63(ctx)) };
  const newInput = { account: `0000${terminal.tid}`, block: newBlock, under: { key: terminal.pik!, format: 0 as const } };
  if (!(await deps.hsm.checkPinBlock(newInput))) return { reply: reply(ctx, RC.pinFormatError, echo63(ctx)) };
  const check = await checkOperatorPassword(ctx, 'operator.password_change');
  if (!check.ok) return { reply: reply(ctx, check.rc, echo63(ctx)) };
  const history = JSON.parse(check.op.password_history) as string[];
  const result = await deps.hsm.newPasswordFromBlock(newInput, { length: operatorPasswordLength(operatorRole(check.op.no)), previousHashes: [check.op.password_hash, ...history.slice(0, 3)] });
  const changed = await deps.store.transact(async (trx) => {
    // changes checked against the same old password at once: the first replaces it, and for the
    // others the old password is no longer the password (55), so none is lost from the history
    const current = await lockedOn(deps.store.engine, trx.selectFrom('operators').select('password_hash').where('terminal_id', '=', terminal.id).where('no', '=', check.op.no)).executeTakeFirst();
    if (current?.password_hash !== check.op.password_hash) {
      await deps.audit.append(trx, { actor: `terminal:${terminal.tid}`, action: 'operator.password_change', subject: `operator:${terminal.tid}:${check.op.no}`, outcome: 'failure', detail: { reason: 'changed_meanwhile' } }, ctx.now);
      return false;
    }
    if (result.ok) {
      await updateOperator(trx, terminal.id, check.op.no, { password_hash: result.hash, password_history: JSON.stringify([check.rehashed ?? check.op.password_hash, ...history].slice(0, 3)), must_change: 0, failures: 0, locked_until: null, lockouts: 0, updated_at: ctx.now });
    } else {
      // the old password was right: the try it took, and a lock it may have set, are undone
      await updateOperator(trx, terminal.id, check.op.no, { failures: 0, locked_until: null, lockouts: 0, updated_at: ctx.now });
      await keepRehashed(trx, terminal.id, check.op, check.rehashed);
    }
    await deps.audit.append(trx, { actor: `terminal:${terminal.tid}`, action: 'operator.password_change', subject: `operator:${terminal.tid}:${check.op.no}`, outcome: result.ok ? 'success' : 'failure', detail: { reason: result.ok ? null : result.reason } }, ctx.now);
    return true;
  });
  if (!changed) return { reply: reply(ctx, RC.wrongPin, echo63(ctx)) };
  return { reply: reply(ctx, result.ok ? RC.approved : RC.invalidTransaction, echo63(ctx)) };
}

function echo63(ctx: Ctx): Record<number, string> {
  const f = ctx.req.text(63);
  return f === undefined ? {} : { 63: f };
}
