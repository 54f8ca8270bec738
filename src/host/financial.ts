import { sql, type Transaction } from 'kysely';
import { luhnValid } from '../crypto/index.js';
import type { PinInput } from '../hsm/index.js';
import { encodeTlv, resolveMmdd } from '../iso8583/index.js';
import type { Card, VerifiedChip } from '../issuer/index.js';
import { ACCOUNTS, post, reverseTransactionPostings } from '../ledger/index.js';
import { passwordFreeOf } from '../merchants/index.js';
import type { Database, TransactionsTable } from '../store/index.js';
import { deferInsert, lockedOn, newId, param, prepared, TransactionCache, type BatchRead } from '../store/index.js';
import { RC } from './catalogue.js';
import { inWindow, settlementDate } from './clock.js';
import { openBatchNow, openBatchRead } from './open-batch.js';
import { parseRequestKey, requestKey } from './request-key.js';
import type { Ctx } from './context.js';
import { echoFields, packResponseBody, replayStored, storedResponse, type Reply } from './reply.js';
import { cdcvmPerformed, CHIP_MODES } from './validate.js';

type Trx = Transaction<Database>;
type Txn = TransactionsTable;

const BY_KEY = prepared((db) => db.selectFrom('transactions').selectAll().where('terminal_id', '=', param(0)).where('batch', '=', param(1)).where('stan', '=', param(2)));

/**
 * Step 9 for a whole group at once (PostgreSQL): which of the units' (terminal, batch, STAN) keys
 * have no transaction yet. Only absence is kept: no other unit of the group can write under a key
 * (requests under one key are serialised, each behind the commit of the one before), and a key
 * that has a row is looked up by its unit as before.
 */
const unusedKeys = new TransactionCache<true>();
const keyRead: BatchRead = {
  load: async (trx, keys) => {
    // keys whose batch is not a number are left to their unit's own look-up
    const wanted = keys.map(parseRequestKey).filter((k) => k !== undefined);
    if (wanted.length === 0) return;
    const found = await trx
      .selectFrom('transactions')
      .select(['terminal_id', 'batch', 'stan'])
      .where(({ eb, refTuple, tuple }) => eb(refTuple('terminal_id', 'batch', 'stan'), 'in', wanted.map((k) => tuple(k.terminalId, k.batch, k.stan))))
      .execute();
    const used = new Set(found.map((r) => requestKey(r.terminal_id, r.batch, r.stan)));
    unusedKeys.fill(trx, wanted.map((k) => requestKey(k.terminalId, k.batch, k.stan)).filter((k) => !used.has(k)).map((k) => [k, true] as const));
  },
};
/** What steps 10–17 decided, before the record is written (step 18 or a decline). */
interface Decision {
  readonly rc: string;
  readonly authCode?: string;
  readonly card?: Card;
  readonly original?: Txn;
  readonly holdId?: string;
  readonly passwordFree?: boolean;
  readonly availableFen?: number;
}

const decline = (rc: string, extra: Partial<Decision> = {}): Decision => ({ rc, ...extra });

/**
 * Financial requests (0100, 0200, 0220), protocol §7 steps 9–18, as one group-committed unit:
 * the duplicate check, the decision, the card effect at the issuer simulator, the ledger posting,
 * the transaction record and the stored response are committed together, before the reply.
 */
export async function handleFinancial(ctx: Ctx): Promise<Reply> {
  const key = requestKey(ctx.terminal.id, ctx.req.batch, ctx.req.stan);
  const pan = ctx.card?.pan;
  const panHash = pan !== undefined && luhnValid(pan) ? ctx.deps.hsm.panHash(pan) : undefined;
  // the terminal's open batch last: on PostgreSQL it is read FOR SHARE, after the cards are locked
  const hints = [{ read: keyRead, key }, ...(panHash ? [{ read: ctx.deps.issuer.cardRead, key: panHash }] : []), { read: openBatchRead, key: ctx.terminal.id }];
  return ctx.deps.serialize(key, () => ctx.deps.store.transact((trx) => financialUnit(ctx, trx, key, panHash), hints));
}

async function financialUnit(ctx: Ctx, trx: Trx, key: string, panHash: string | undefined): Promise<Reply> {
  const { req, terminal, deps } = ctx;
  const batch = req.batch!;
  const stan = req.stan!;
  const unrecorded = (rc: string): Reply => ({ fields: { ...baseFields(ctx), 37: deps.rrn.next(ctx.now), 39: rc }, mac: true });

  // Step 8 again, now that the unit runs: a settlement may have closed the batch since (open-batch.ts).
  if ((await openBatchNow(trx, deps.store.engine, terminal.id)) !== batch) return unrecorded(RC.signInAgain);

  // Step 9: duplicates and retransmissions. A reversal that found nothing left a tombstone row under
  // this key (reversal.ts), so one look-up answers both questions.
  const existing = unusedKeys.take(trx, key) ? undefined : await BY_KEY.first(trx, [terminal.id, batch, stan]);
  if (existing) {
    if (existing.status === 'reversed' || existing.status === 'tombstone') return unrecorded(RC.invalidTransaction);
    if (existing.mti === req.mti && existing.processing_code === req.processingCode && existing.amount_fen === req.amountFen) {
      deps.log.info({ tid: terminal.tid, stan, batch }, 'retransmission answered from the stored response');
      return replayStored(existing.response, existing.response_code, req);
    }
    return unrecorded(RC.duplicate);
  }

  const chip: { verified?: VerifiedChip } = {};
  const decision = await decide(ctx, trx, panHash, chip);
  return record(ctx, trx, decision, chip.verified);
}

function baseFields(ctx: Ctx): Reply['fields'] {
  return { ...echoFields(ctx.req, true), 12: ctx.local.hhmmss, 13: ctx.local.mmdd, 32: ctx.deps.config.acquirerId };
}

/** `chip.verified` is set once the issuer has verified the chip's cryptogram: the response then answers it (tag 91). */
async function decide(ctx: Ctx, trx: Trx, panHash: string | undefined, chip: { verified?: VerifiedChip }): Promise<Decision> {
  const { req, terminal, entry, deps } = ctx;
  const kind = entry.kind;

  // Step 10: the supervisor grant, used up by whichever request reaches here.
  if (entry.supervisor && terminal.supervisor_check === 'host') {
    // Taken and used up in one statement: of two requests in concurrent transactions, one gets it.
    const grant = await trx.deleteFrom('supervisor_grants').where('terminal_id', '=', terminal.id).returning('expires_at').executeTakeFirst();
    if (!grant || grant.expires_at < ctx.now) return decline(RC.securityViolation);
  }

  const card = ctx.card!;

  // Step 11: the original transaction.
  let original: Txn | undefined;
  if (kind !== 'sale' && kind !== 'balance' && kind !== 'preauth') {
    const found = await findOriginal(ctx, trx, panHash);
    if (typeof found === 'string') return decline(found);
    original = found;
  }

  // Step 12: amount.
  if (kind !== 'balance' && req.amountFen === 0) return decline(RC.invalidAmount, { ...(original ? { original } : {}) });

  // Step 13: the PIN block must decode under the PIK.
  const pinInput: PinInput | undefined = req.pinPresent ? { pan: card.pan, block: req.bytes(52)!, under: { key: terminal.pik!, format: 0 } } : undefined;
  if (pinInput && !(await deps.hsm.checkPinBlock(pinInput))) return decline(RC.pinFormatError);

  // Step 14: the card.
  if (panHash === undefined) return decline(RC.invalidCard);
  const cardRecord = await deps.issuer.findCard(trx, panHash);
  if (!cardRecord) return decline(RC.invalidCard);
  const statusCode = deps.issuer.cardStatusCode(cardRecord, card.expiry, ctx.local.yymm);
  if (statusCode !== null) return decline(statusCode, { card: cardRecord });
  // The card's own proof: the chip's cryptogram when it was read (§5.2 C7), else the stripe's CVV.
  const tags = CHIP_MODES.has(req.entryMode ?? '') ? req.iccObjects() : undefined;
  if (tags) {
    const psn = req.text(23)?.slice(-2) ?? '00';
    const verified = await deps.issuer.verifyChip(trx, cardRecord, { pan: card.pan, psn, tags, amountFen: req.amountFen });
    if (verified === 'failed') return decline(RC.doNotHonour, { card: cardRecord });
    if (verified !== 'no_chip') chip.verified = verified;
  } else if (card.track && !(await deps.issuer.verifyTrack(trx, cardRecord, card.pan, card.track))) return decline(RC.doNotHonour, { card: cardRecord });

  // Step 15: risk. (The risk engine lands with its own issue; nothing declines here yet.)

  // Step 16: cardholder verification.
  let passwordFree = false;
  if (pinInput) {
    const check = await deps.issuer.verifyPin(trx, cardRecord, pinInput, ctx.local.day);
    if (check === 'exceeded') return decline(RC.pinTriesExceeded, { card: cardRecord });
    if (check === 'wrong') return decline(RC.wrongPin, { card: cardRecord });
  } else if (kind === 'sale' || kind === 'preauth' || kind === 'balance') {
    const settings = passwordFreeOf(ctx.merchant);
    const qpsEligible = kind !== 'balance' && settings.entryModes.includes(req.entryMode ?? '');
    if (qpsEligible && !(settings.cdcvm && cdcvmPerformed(req))) {
      const reason = await passwordFreeRefusal(ctx, trx, panHash);
      if (reason !== null) {
        deps.log.info({ tid: terminal.tid, rule: reason }, 'password-free payment refused; PIN needed');
        return decline(settings.declineCode, { card: cardRecord });
      }
      passwordFree = true;
    } else if (!(qpsEligible && settings.cdcvm && cdcvmPerformed(req)) && deps.issuer.requiresPin(cardRecord)) {
      return decline(RC.wrongPin, { card: cardRecord });
    }
  }

  // Step 17: the issuer (simulator) authorises and moves the card's funds.
  const issuer = deps.issuer;
  const amount = req.amountFen;
  switch (kind) {
    case 'balance': {
      const r = await issuer.authorize(trx, cardRecord, { kind: 'balance' }, ctx.now);
      return r.approved ? { rc: RC.approved, authCode: r.authCode, card: cardRecord, availableFen: r.availableFen } : decline(r.responseCode, { card: cardRecord });
    }
    case 'sale':
    case 'preauth': {
      const r = await issuer.authorize(trx, cardRecord, { kind: kind === 'sale' ? 'purchase' : 'preauth', amountFen: amount }, ctx.now);
      if (!r.approved) return decline(r.responseCode, { card: cardRecord, passwordFree });
      return { rc: RC.approved, authCode: r.authCode, card: cardRecord, passwordFree, ...(r.holdId ? { holdId: r.holdId } : {}) };
    }
    case 'completion': {
      const r = await issuer.complete(trx, cardRecord, original!.hold_id!, amount);
      if (!r.approved) return decline(r.responseCode, { card: cardRecord, original: original! });
      return { rc: RC.approved, authCode: r.authCode, card: cardRecord, original: original!, holdId: original!.hold_id! };
    }
    case 'sale_void':
      await issuer.credit(trx, cardRecord, original!.amount_fen);
      return approvedLike(original!, cardRecord);
    case 'completion_void':
      await issuer.uncomplete(trx, cardRecord, original!.hold_id!, original!.amount_fen);
      return approvedLike(original!, cardRecord);
    case 'preauth_void':
      await issuer.releaseHold(trx, cardRecord, original!.hold_id!);
      return approvedLike(original!, cardRecord);
    case 'refund':
      await issuer.credit(trx, cardRecord, amount);
      return { rc: RC.approved, card: cardRecord, original: original! };
    default:
      throw new Error(`no financial handler for ${kind}`);
  }
}

/** An approved void: the response carries the original's authorisation code. */
function approvedLike(original: Txn, card: Card): Decision {
  return { rc: RC.approved, card, original, ...(original.auth_code ? { authCode: original.auth_code } : {}) };
}

/**
 * §7.1: find the original of a void, refund, pre-auth void or completion, or the code to decline
 * with. Beyond the table: a sale or completion with an approved refund against it cannot be voided
 * (12). The refund stands on its own, so a void would give the card its money twice.
 */
async function findOriginal(ctx: Ctx, trx: Trx, panHash: string | undefined): Promise<Txn | string> {
  const { req, terminal, merchant, entry, deps } = ctx;
  const o = req.original;
  const rrn = req.text(37)?.trimEnd();
  const auth = req.text(38)?.trimEnd();
  const samePan = (t: Txn) => panHash !== undefined && t.pan_hash === panHash;
  // On PostgreSQL the original is locked for this transaction: concurrent group transactions must
  // not both void it or both refund against the same remaining amount. (SQLite has one writer.)
  const locked = <Q extends { forUpdate(): Q }>(q: Q): Q => lockedOn(deps.store.engine, q);
  const byKey = async (type: string) =>
    o.batch === undefined || o.stan === undefined
      ? undefined
      : locked(trx.selectFrom('transactions').selectAll().where('terminal_id', '=', terminal.id).where('batch', '=', o.batch).where('stan', '=', o.stan).where('type', '=', type).where('response_code', '=', '00')).executeTakeFirst();
  const onDate = (t: Txn) => o.mmdd !== undefined && t.local_day === resolveMmdd(o.mmdd, ctx.local.day);

  switch (entry.kind) {
    case 'sale_void': {
      const t = await byKey('22');
      if (!t || (rrn !== undefined && t.rrn !== rrn) || (auth !== undefined && auth !== '' && t.auth_code !== auth) || !samePan(t)) return RC.originalNotFound;
      if (t.status !== 'approved' || t.batch !== terminal.open_batch || t.refunded_fen > 0) return RC.invalidTransaction;
      if (req.amountFen !== t.amount_fen) return RC.originalAmountIncorrect;
      return t;
    }
    case 'completion_void': {
      const t = await byKey('20');
      if (!t || t.rrn !== rrn || !samePan(t)) return RC.originalNotFound;
      if (t.status !== 'approved' || t.batch !== terminal.open_batch || t.refunded_fen > 0) return RC.invalidTransaction;
      if (req.amountFen !== t.amount_fen) return RC.originalAmountIncorrect;
      return t;
    }
    case 'refund': {
      const candidates = await locked(trx.selectFrom('transactions').selectAll().where('merchant_id', '=', merchant.id).where('rrn', '=', rrn ?? '').where('response_code', '=', '00').where('type', 'in', ['22', '20'])).execute();
      const t = candidates.find(onDate);
      if (!t || !samePan(t)) return RC.originalNotFound;
      if (t.terminal_id === terminal.id && (o.batch !== t.batch || o.stan !== t.stan)) return RC.originalNotFound;
      if (t.status === 'voided' || t.status === 'reversed') return RC.invalidTransaction;
      if (t.refunded_fen + req.amountFen > t.amount_fen) return merchant.refund_over_limit_code === '13' ? RC.invalidAmount : deps.config.refundOverLimitCode;
      return t;
    }
    case 'preauth_void':
    case 'completion': {
      if (panHash === undefined) return RC.originalNotFound;
      const candidates = await locked(trx.selectFrom('transactions').selectAll().where('merchant_id', '=', merchant.id).where('pan_hash', '=', panHash).where('type', '=', '10').where('response_code', '=', '00').where('auth_code', '=', auth ?? '')).execute();
      const t = candidates.find(onDate);
      if (!t) return RC.originalNotFound;
      if (t.status !== 'approved') return RC.invalidTransaction;
      if (entry.kind === 'completion' && ctx.now - t.created_at > deps.config.preauthValidDays * 86_400_000) return RC.invalidTransaction;
      if (entry.kind === 'preauth_void' && req.amountFen !== t.amount_fen) return RC.originalAmountIncorrect;
      if (entry.kind === 'completion' && req.amountFen * 100 > t.amount_fen * (100 + deps.config.preauthCompletionTolerancePct)) return RC.exceedsLimit;
      return t;
    }
    default:
      return RC.invalidTransaction;
  }
}

/** §9.1 rules 1–5; the name of the first that fails, or null when the payment may go without a PIN. */
async function passwordFreeRefusal(ctx: Ctx, trx: Trx, panHash: string | undefined): Promise<string | null> {
  const s = passwordFreeOf(ctx.merchant);
  const amount = ctx.req.amountFen;
  if (!s.enabled) return 'disabled';
  if (amount > s.maxAmountFen) return 'amount';
  if (!inWindow(ctx.local.hhmm, s.windowStart, s.windowEnd)) return 'window';
  if (panHash === undefined) return 'card';
  const today = await trx
    .selectFrom('transactions')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('amount_fen').as('total')])
    .where('pan_hash', '=', panHash)
    .where('merchant_id', '=', ctx.merchant.id)
    .where('local_day', '=', ctx.local.day)
    .where(sql.ref('password_free'), '=', sql.lit(1)) // a literal, so that the partial index applies
    .where('response_code', '=', '00')
    .where('status', '<>', 'reversed')
    .executeTakeFirstOrThrow();
  if (Number(today.n) + 1 > s.dailyCount) return 'daily_count';
  if (Number(today.total ?? 0) + amount > s.dailyAmountFen) return 'daily_amount';
  if (s.binBlacklist.some((bin) => ctx.card!.pan.startsWith(bin))) return 'bin';
  return null;
}

/** Step 18 (or a decline after step 9): the record, the posting and the stored response, in this unit. */
async function record(ctx: Ctx, trx: Trx, d: Decision, chip?: VerifiedChip): Promise<Reply> {
  const { req, terminal, merchant, deps, entry, now } = ctx;
  const approved = d.rc === RC.approved;
  const id = newId('txn');
  const rrn = deps.rrn.next(now);
  const fields: Reply['fields'] = { ...baseFields(ctx), 37: rrn, 39: d.rc };
  if (approved) {
    fields[15] = settlementDate(now, deps.config.settlementCutoverHour);
    if (d.authCode !== undefined) fields[38] = d.authCode.padEnd(6, ' ');
    const issuerId = d.card?.issuer_id ?? '';
    fields[44] = `${issuerId.padEnd(11, ' ')}${deps.config.acquirerId.padEnd(11, ' ')}`;
    fields[63] = d.card?.card_org ?? 'CUP';
    if (entry.kind === 'balance' && d.availableFen !== undefined) {
      const type = d.card?.kind === 'credit' ? '30' : '10';
      fields[54] = `${type}02156${d.availableFen >= 0 ? 'C' : 'D'}${String(Math.abs(d.availableFen)).padStart(12, '0')}`;
    }
  }
  // §5.3: issuer data in 55 — the ARPC answering the chip's ARQC, with this response's code.
  if (chip) fields[55] = encodeTlv([{ tag: '91', value: await deps.issuer.issuerAuthentication(chip, d.rc) }]);
  // The card record already holds the PAN in its stored forms; only an unknown card needs them made.
  const body = packResponseBody(req.mti, fields);
  const protectedPan = d.card
    ? { hash: d.card.pan_hash, ciphertext: d.card.pan_enc, masked: d.card.pan_masked }
    : ctx.card && ctx.card.pan.length >= 12
      ? deps.hsm.protectPan(ctx.card.pan)
      : undefined;
  const row: Txn = {
    id,
    terminal_id: terminal.id,
    merchant_id: merchant.id,
    batch: req.batch!,
    stan: req.stan!,
    local_date: ctx.local.mmdd,
    local_day: ctx.local.day,
    mti: req.mti,
    processing_code: req.processingCode!,
    type: req.type!,
    amount_fen: req.amountFen,
    pan_hash: protectedPan?.hash ?? null,
    pan_masked: protectedPan?.masked ?? null,
    pan_enc: protectedPan?.ciphertext ?? null,
    card_id: d.card?.id ?? null,
    hold_id: d.holdId ?? null,
    entry_mode: req.text(22) ?? '',
    password_free: d.passwordFree ? 1 : 0,
    rrn,
    auth_code: approved ? (d.authCode ?? null) : null,
    response_code: d.rc,
    status: approved ? 'approved' : 'declined',
    original_id: d.original?.id ?? null,
    refunded_fen: 0,
    card_org: d.card?.card_org ?? null,
    reversal_reason: null,
    response: storedResponse(req.mti, fields, body),
    settlement_date: approved ? String(fields[15]) : null,
    created_at: now,
    updated_at: now,
  };
  // Password-free payments are written at once: the daily caps of a later unit in this same
  // transaction count them. Everything else joins the batch's multi-row INSERT (group-commit.ts).
  if (row.password_free === 1) await trx.insertInto('transactions').values(row).execute();
  else await deferInsert(trx, 'transactions', row as unknown as Record<string, unknown>);

  if (approved) {
    const pending = ACCOUNTS.merchantPending(merchant.id);
    switch (entry.kind) {
      case 'sale':
      case 'completion':
        await post(trx, entry.kind, id, [
          { account: ACCOUNTS.cardFunds, amountFen: req.amountFen },
          { account: pending, amountFen: -req.amountFen },
        ], now);
        if (entry.kind === 'completion') await setStatus(trx, d.original!.id, 'completed', now);
        break;
      case 'refund':
        await post(trx, 'refund', id, [
          { account: pending, amountFen: req.amountFen },
          { account: ACCOUNTS.refundsPayable, amountFen: -req.amountFen },
        ], now);
        await trx.updateTable('transactions').set({ refunded_fen: sql`refunded_fen + ${req.amountFen}`, updated_at: now }).where('id', '=', d.original!.id).execute();
        break;
      case 'sale_void':
      case 'completion_void':
        await reverseTransactionPostings(trx, d.original!.id, 'void', id, now);
        await setStatus(trx, d.original!.id, 'voided', now);
        if (entry.kind === 'completion_void') {
          const preauth = d.original!.original_id;
          if (preauth) await setStatus(trx, preauth, 'approved', now);
        }
        break;
      case 'preauth_void':
        await setStatus(trx, d.original!.id, 'voided', now);
        break;
      default:
        break;
    }
  }
  deps.log.debug({ tid: terminal.tid, kind: entry.kind, stan: req.stan, rc: d.rc, amount_fen: req.amountFen, txn: id }, 'financial request answered');
  return { fields, mac: true, body };
}

async function setStatus(trx: Trx, id: string, status: string, now: number): Promise<void> {
  await trx.updateTable('transactions').set({ status, updated_at: now }).where('id', '=', id).execute();
}
