import type { Transaction } from 'kysely';
import { reverseTransactionPostings } from '../ledger/index.js';
import { terminalById, type Terminal } from '../merchants/index.js';
import type { Database, Engine, TransactionsTable } from '../store/index.js';
import { lockedOn, newId } from '../store/index.js';
import { RC } from './catalogue.js';
import { openBatchNow } from './open-batch.js';
import { requestKey } from './request-key.js';
import type { Ctx } from './context.js';
import { echoFields, type Reply } from './reply.js';

type Trx = Transaction<Database>;
type Txn = TransactionsTable;

/**
 * Reversals (0400/0410), protocol §8.2: idempotent; a reversal that finds nothing leaves a tombstone
 * so that an original arriving later is declined (12) and never charged.
 */
export async function handleReversal(ctx: Ctx): Promise<{ reply: Reply; terminal: Terminal }> {
  const { req, terminal, deps } = ctx;
  // §8.2 step 3, "T still being processed → wait": behind its own key and, when it may use a new
  // STAN, the original's too, taken in one order so that two requests never wait for each other.
  const original = originalKey(ctx);
  const keys = [...new Set([requestKey(terminal.id, req.batch, req.stan), ...(original ? [requestKey(terminal.id, original.batch, original.stan)] : [])])].sort();
  const unit = () => deps.store.transact((trx) => reversalUnit(ctx, trx));
  const reply = await keys.reduceRight<() => Promise<Reply>>((inner, key) => () => deps.serialize(key, inner), unit)();
  return { reply, terminal: (await terminalById(deps.store.read, terminal.id)) ?? terminal };
}

/** §8.2 step 2: a reversal of a sale or pre-auth that carries 61 may use a new STAN; its original is then under (61.1, 61.2). */
function originalKey({ req }: Ctx): { batch: number; stan: string } | undefined {
  if ((req.type !== '22' && req.type !== '10') || !req.has(61)) return undefined;
  const { batch, stan } = req.original;
  return batch === undefined || stan === undefined ? undefined : { batch, stan };
}

/**
 * The transaction under a key. On PostgreSQL it is locked for this transaction, as the originals of
 * voids and refunds are (financial.ts): a void of it in a group running beside this one either
 * committed first, and is seen, or waits for this one.
 */
async function findByKey(trx: Trx, engine: Engine, terminalId: string, batch: number | undefined, stan: string | undefined): Promise<Txn | undefined> {
  if (batch === undefined || stan === undefined) return undefined;
  return lockedOn(engine, trx.selectFrom('transactions').selectAll().where('terminal_id', '=', terminalId).where('batch', '=', batch).where('stan', '=', stan)).executeTakeFirst();
}

async function reversalUnit(ctx: Ctx, trx: Trx): Promise<Reply> {
  const { req, terminal, deps, now } = ctx;
  const fields = (rc: string, rrn: string): Reply => ({
    fields: { ...echoFields(req, true), 12: ctx.local.hhmmss, 13: ctx.local.mmdd, 32: deps.config.acquirerId, 37: rrn, 39: rc },
    mac: true,
  });
  const reason = req.text(39) ?? '';
  // the key the original is under: the reversal's own, else (new STAN) the one 61 names
  let key = { batch: req.batch!, stan: req.stan! };
  let t = await findByKey(trx, deps.store.engine, terminal.id, key.batch, key.stan);
  const viaOriginal = originalKey(ctx);
  if (!t && viaOriginal) {
    key = viaOriginal;
    t = await findByKey(trx, deps.store.engine, terminal.id, key.batch, key.stan);
  }

  if (!t) {
    // A tombstone: a row under the original's key, with its 3, 60.1 and amount, that no money moves
    // through and that declines (12) the original if it arrives after all (§8.2 step 4).
    const rrn = deps.rrn.next(now);
    await trx
      .insertInto('transactions')
      .values({
        id: newId('txn'),
        terminal_id: terminal.id,
        merchant_id: ctx.merchant.id,
        batch: key.batch,
        stan: key.stan,
        local_date: ctx.local.mmdd,
        local_day: ctx.local.day,
        mti: req.type === '10' || req.type === '11' ? '0100' : '0200',
        processing_code: req.processingCode!,
        type: req.type!,
        amount_fen: req.amountFen,
        pan_hash: null,
        pan_masked: null,
        pan_enc: null,
        card_id: null,
        hold_id: null,
        entry_mode: req.text(22) ?? '',
        password_free: 0,
        rrn,
        auth_code: null,
        response_code: '',
        status: 'tombstone',
        original_id: null,
        refunded_fen: 0,
        card_org: null,
        reversal_reason: reason,
        response: '{}',
        settlement_date: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    deps.log.info({ tid: terminal.tid, stan: req.stan, batch: req.batch }, 'reversal for nothing: tombstone recorded');
    return fields(RC.approved, rrn);
  }
  if (t.status === 'tombstone') return fields(RC.approved, t.rrn); // the same reversal again
  if (t.processing_code !== req.processingCode || t.type !== req.type) return fields(RC.invalidTransaction, t.rrn);
  if (t.amount_fen !== req.amountFen) return fields(RC.originalAmountIncorrect, t.rrn);
  if (t.status === 'reversed') return fields(RC.approved, t.rrn);
  if (t.response_code !== RC.approved) {
    await trx.updateTable('transactions').set({ status: 'reversed', reversal_reason: reason, updated_at: now }).where('id', '=', t.id).execute();
    return fields(RC.approved, t.rrn);
  }
  // the batch as it is now, not as when the reversal came in: a settlement may have closed it (open-batch.ts)
  if (t.batch !== (await openBatchNow(trx, deps.store.engine, terminal.id))) return fields(RC.invalidTransaction, t.rrn);
  const alert = (kind: string) => trx.insertInto('alerts').values({ kind, terminal_id: terminal.id, merchant_id: t.merchant_id, detail: JSON.stringify({ transaction: t.id, reason }), created_at: now }).execute();
  if (t.status === 'voided') {
    await alert('reversal_of_voided');
    return fields(RC.approved, t.rrn);
  }
  // Beyond §8.2: a refund against T stands on its own, and undoing T as well would give the card
  // its money twice. Nothing changes; the back office is told (a terminal reversing a transaction
  // that has since been refunded is a case to look at).
  if (t.refunded_fen > 0) {
    await alert('reversal_of_refunded');
    return fields(RC.invalidTransaction, t.rrn);
  }
  if (t.status === 'completed') return fields(RC.invalidTransaction, t.rrn); // a completed pre-auth: reverse the completion first

  await undo(ctx, trx, t);
  await trx.updateTable('transactions').set({ status: 'reversed', reversal_reason: reason, updated_at: now }).where('id', '=', t.id).execute();
  deps.log.info({ tid: terminal.tid, txn: t.id, type: t.type, reason }, 'transaction reversed');
  return fields(RC.approved, t.rrn);
}

/** Undoes the card effect and the ledger posting of an approved transaction. */
async function undo(ctx: Ctx, trx: Trx, t: Txn): Promise<void> {
  const { deps, now } = ctx;
  const card = t.card_id ? await deps.issuer.cardById(trx, t.card_id) : undefined;
  if (!card) throw new Error(`transaction ${t.id} has no card to reverse against`);
  const original = t.original_id ? await lockedOn(deps.store.engine, trx.selectFrom('transactions').selectAll().where('id', '=', t.original_id)).executeTakeFirst() : undefined;
  const status = async (id: string, s: string) => trx.updateTable('transactions').set({ status: s, updated_at: now }).where('id', '=', id).execute();
  switch (t.type) {
    case '22': // sale
      await deps.issuer.credit(trx, card, t.amount_fen);
      break;
    case '10': // pre-auth
      await deps.issuer.releaseHold(trx, card, t.hold_id!);
      break;
    case '20': // completion: the pre-auth becomes completable again
      await deps.issuer.uncomplete(trx, card, t.hold_id!, t.amount_fen);
      if (original) await status(original.id, 'approved');
      break;
    case '23': // sale void: the sale stands again
      await deps.issuer.debit(trx, card, original!.amount_fen);
      await status(original!.id, 'approved');
      break;
    case '21': // completion void: the completion stands again
      await deps.issuer.recomplete(trx, card, original!.hold_id!, original!.amount_fen);
      await status(original!.id, 'approved');
      if (original!.original_id) await status(original!.original_id, 'completed');
      break;
    case '11': // pre-auth void: the hold comes back
      await deps.issuer.restoreHold(trx, card, original!.hold_id!);
      await status(original!.id, 'approved');
      break;
    default:
      throw new Error(`type ${t.type} is not reversible`);
  }
  await reverseTransactionPostings(trx, t.id, 'reversal', t.id, now);
}
