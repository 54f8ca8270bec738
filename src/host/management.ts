import type { Transaction } from 'kysely';
import { ACCOUNTS, post } from '../ledger/index.js';
import { merchantById, passwordFreeOf, terminalById, updateTerminal, type Merchant, type Terminal } from '../merchants/index.js';
import type { Database } from '../store/index.js';
import { RC } from './catalogue.js';
import { settlementDate } from './clock.js';
import type { Ctx } from './context.js';
import { handleActivation, handleOperatorPassword, handleOperatorVerify } from './extensions.js';
import { lockForSettlement } from './open-batch.js';
import { echoFields, loadFields, storeFields, type Reply } from './reply.js';

type Trx = Transaction<Database>;

export interface ManagementResult {
  readonly reply: Reply;
  /** the terminal/merchant as they are after the message, for the response header */
  readonly terminal?: Terminal;
  readonly merchant?: Merchant;
}

const MANDATORY: Record<string, readonly number[]> = {
  sign_in: [11, 41, 42, 60, 63],
  sign_out: [11, 41, 42, 60],
  echo: [11, 41, 42, 60],
  qps_download: [11, 41, 42, 60],
  qps_download_end: [11, 41, 42, 60],
  settlement: [11, 41, 42, 48, 49, 60, 63],
  upload_detail: [11, 41, 42, 48, 60],
  upload_end: [11, 41, 42, 48, 60],
  upload_other: [11, 41, 42, 60],
  activation: [11, 41, 42, 60, 62],
  operator_verify: [11, 41, 42, 52, 53, 60, 63, 64],
  operator_password: [11, 41, 42, 52, 53, 60, 62, 63, 64],
};

/** Sign-in, sign-out, echo, QPS parameters, settlement, batch upload and the posgate extensions. */
export async function handleManagement(ctx: Ctx): Promise<ManagementResult> {
  const { req, entry } = ctx;
  if ((MANDATORY[entry.kind] ?? []).some((n) => !req.has(n))) return { reply: reply(ctx, RC.formatError) };
  await touch(ctx);
  switch (entry.kind) {
    case 'sign_in':
      return signIn(ctx);
    case 'sign_out':
      return signOut(ctx);
    case 'echo':
      return { reply: reply(ctx, RC.approved) };
    case 'qps_download':
      return qpsDownload(ctx);
    case 'qps_download_end':
      return qpsDownloadEnd(ctx);
    case 'settlement':
      return settle(ctx);
    case 'upload_detail':
    case 'upload_end':
    case 'upload_other':
      return upload(ctx);
    case 'activation':
      return handleActivation(ctx);
    case 'operator_verify':
      return handleOperatorVerify(ctx);
    case 'operator_password':
      return handleOperatorPassword(ctx);
    default:
      return { reply: reply(ctx, RC.notSupported) };
  }
}

/** A management response: 11, 12, 13, 39, 41, 42, 60 (echoed) plus `extra`; MACed only for 902/903. */
export function reply(ctx: Ctx, rc: string, extra: Reply['fields'] = {}): Reply {
  return { fields: { ...echoFields(ctx.req, false), 12: ctx.local.hhmmss, 13: ctx.local.mmdd, 39: rc, ...extra }, mac: ctx.macVerified };
}

/** Records the software version the header carries (§1.3 nibbles 7–12) and when the terminal was last seen. */
async function touch(ctx: Ctx): Promise<void> {
  const version = ctx.req.frame.header.subVersion;
  const formatted = `${Number(version.slice(0, 2))}.${Number(version.slice(2, 4))}.${Number(version.slice(4, 6))}`;
  if (ctx.terminal.software_version !== formatted || ctx.now - (ctx.terminal.last_seen_at ?? 0) > 60_000) {
    await ctx.deps.store.transact((trx) => updateTerminal(trx, ctx.terminal.id, { software_version: formatted, last_seen_at: ctx.now }));
  }
}

function withBatch(field60: string, batch: number): string {
  return field60.slice(0, 2) + String(batch).padStart(6, '0') + field60.slice(8);
}

async function signIn(ctx: Ctx): Promise<ManagementResult> {
  const { deps, terminal, req } = ctx;
  const withTdk = req.networkCode === '004';
  const macLength = deps.config.macKeyLength;
  const pik = await deps.hsm.generateKey({ algorithm: 'tdes', length: 16, usage: 'pin' });
  const mak = await deps.hsm.generateKey({ algorithm: 'tdes', length: macLength, usage: 'mac' });
  const tdk = withTdk ? await deps.hsm.generateKey({ algorithm: 'tdes', length: 16, usage: 'data' }) : undefined;
  const pikOut = await deps.hsm.exportKey(pik.key, terminal.tmk!, 4);
  const makOut = await deps.hsm.exportKey(mak.key, terminal.tmk!, 4);
  const parts = [pikOut.wrapped, Buffer.from(pikOut.kcv, 'hex'), macLength === 8 ? Buffer.concat([makOut.wrapped, Buffer.alloc(8)]) : makOut.wrapped, Buffer.from(makOut.kcv, 'hex')];
  if (tdk) {
    const tdkOut = await deps.hsm.exportKey(tdk.key, terminal.tmk!, 4);
    parts.push(tdkOut.wrapped, Buffer.from(tdkOut.kcv, 'hex'));
  }
  await deps.store.transact(async (trx) => {
    await updateTerminal(trx, terminal.id, { pik: pik.key, mak: mak.key, tdk: tdk?.key ?? null, sign_in_required: 0, last_seen_at: ctx.now });
    await deps.audit.append(trx, { actor: `terminal:${terminal.tid}`, action: 'terminal.sign_in', subject: terminal.id, outcome: 'success', detail: { operator: req.operatorNo ?? null, working_set: withTdk ? 'pik+mak+tdk' : 'pik+mak' } }, ctx.now);
  });
  const after = (await terminalById(deps.store.read, terminal.id))!;
  return {
    reply: reply(ctx, RC.approved, { 32: deps.config.acquirerId, 37: deps.rrn.next(ctx.now), 60: withBatch(req.text(60)!, terminal.open_batch), 62: Buffer.concat(parts) }),
    terminal: after,
  };
}

async function signOut(ctx: Ctx): Promise<ManagementResult> {
  const { deps, terminal } = ctx;
  await deps.store.transact(async (trx) => {
    await updateTerminal(trx, terminal.id, { pik: null, mak: null, tdk: null });
    await deps.audit.append(trx, { actor: `terminal:${terminal.tid}`, action: 'terminal.sign_out', subject: terminal.id, outcome: 'success' }, ctx.now);
  });
  return { reply: reply(ctx, RC.approved), terminal: { ...terminal, pik: null, mak: null, tdk: null } };
}

/** 394 (§9.3): the merchant's parameters, and the version they are, which the 395 will make the terminal's. */
async function qpsDownload(ctx: Ctx): Promise<ManagementResult> {
  const version = ctx.merchant.qps_version;
  await ctx.deps.store.transact((trx) => updateTerminal(trx, ctx.terminal.id, { qps_version_offered: version }));
  return { reply: reply(ctx, RC.approved, { 62: Buffer.from(qpsParameters(ctx.merchant), 'latin1') }), terminal: { ...ctx.terminal, qps_version_offered: version } };
}

/**
 * 395 (§9.3): the terminal now holds the version its 394 was sent, not necessarily the merchant's
 * current one (a change between the two keeps it asked to download). A 395 with no 394 before it
 * changes nothing; both are answered 00.
 */
async function qpsDownloadEnd(ctx: Ctx): Promise<ManagementResult> {
  const held = await ctx.deps.store.transact(async (trx) => {
    const row = await trx.selectFrom('terminals').select(['qps_version_offered', 'qps_version_held']).where('id', '=', ctx.terminal.id).executeTakeFirstOrThrow();
    if (row.qps_version_offered === null) return row.qps_version_held;
    await updateTerminal(trx, ctx.terminal.id, { qps_version_held: row.qps_version_offered });
    return row.qps_version_offered;
  });
  return { reply: reply(ctx, RC.approved), terminal: { ...ctx.terminal, qps_version_held: held } };
}

/** §9.3: the 394 parameter entries, TAG (6 hex) ‖ LEN (3 digits) ‖ VALUE. */
export function qpsParameters(merchant: Merchant): string {
  const s = passwordFreeOf(merchant);
  const entry = (tag: string, value: string) => `${tag}${String(value.length).padStart(3, '0')}${value}`;
  return [
    entry('FF8054', s.enabled ? '1' : '0'),
    entry('FF8055', '0'),
    entry('FF8056', '0'),
    entry('FF8057', s.cdcvm ? '1' : '0'),
    entry('FF8058', String(s.maxAmountFen).padStart(12, '0')),
    entry('FF8059', String(s.noSignatureLimitFen).padStart(12, '0')),
    entry('FF805A', s.noSignature ? '1' : '0'),
    entry('FF9001', s.windowStart),
    entry('FF9002', s.windowEnd),
  ].join('');
}

interface Totals {
  debitFen: number;
  debitCount: number;
  creditFen: number;
  creditCount: number;
}

/**
 * One 31-digit block of 0510 field 48. A batch past the field's digits (more than 999 transactions of
 * a kind: a terminal that did not settle in time, §4.6) is answered saturated, 999 and 12 nines, so
 * the answer keeps its layout; such a batch is never balanced, as the terminal cannot count it either.
 */
function totalsBlock(t: Totals, result: string): string {
  const digits = (n: number, width: number) => String(Math.min(n, 10 ** width - 1)).padStart(width, '0');
  return digits(t.debitFen, 12) + digits(t.debitCount, 3) + digits(t.creditFen, 12) + digits(t.creditCount, 3) + result;
}

function parseBlock(digits: string): Totals {
  return { debitFen: Number(digits.slice(0, 12)), debitCount: Number(digits.slice(12, 15)), creditFen: Number(digits.slice(15, 27)), creditCount: Number(digits.slice(27, 30)) };
}

const sameTotals = (a: Totals, b: Totals) => a.debitFen === b.debitFen && a.debitCount === b.debitCount && a.creditFen === b.creditFen && a.creditCount === b.creditCount;

async function hostTotals(trx: Trx, terminalId: string, batch: number): Promise<{ domestic: Totals; foreign: Totals }> {
  const rows = await trx
    .selectFrom('transactions')
    .select(['type', 'amount_fen', 'card_org'])
    .where('terminal_id', '=', terminalId)
    .where('batch', '=', batch)
    .where('response_code', '=', '00')
    .where('type', 'in', ['22', '20', '25'])
    .where('status', 'not in', ['voided', 'reversed'])
    .execute();
  const zero = (): Totals => ({ debitFen: 0, debitCount: 0, creditFen: 0, creditCount: 0 });
  const out = { domestic: zero(), foreign: zero() };
  for (const r of rows) {
    const t = (r.card_org ?? 'CUP') === 'CUP' ? out.domestic : out.foreign;
    if (r.type === '25') {
      t.creditFen += r.amount_fen;
      t.creditCount++;
    } else {
      t.debitFen += r.amount_fen;
      t.debitCount++;
    }
  }
  return out;
}

/** §5.4 settlement: totals check, close the batch, open the next, move the takings to the merchant. */
async function settle(ctx: Ctx): Promise<ManagementResult> {
  const { deps, terminal, req } = ctx;
  const batch = req.batch;
  const field48 = req.text(48)!;
  if (!/^[0-9]{62}$/.test(field48)) return { reply: reply(ctx, RC.formatError) };
  return deps.serialize(`${terminal.id}|settlement`, () =>
    deps.store.transact(async (trx) => {
      await lockForSettlement(trx, deps.store.engine, terminal.id);
      const current = (await terminalById(trx, terminal.id))!;
      if (batch === current.last_closed_batch) {
        const stored = await trx.selectFrom('batches').select('settlement_response').where('terminal_id', '=', terminal.id).where('batch', '=', batch).executeTakeFirst();
        // the stored 0510, addressed to this request (its STAN) so that the terminal can match it
        if (stored?.settlement_response) return { reply: { fields: { ...loadFields(stored.settlement_response), ...echoFields(req, false) }, mac: false }, terminal: current };
      }
      if (batch !== current.open_batch) return { reply: reply(ctx, RC.signInAgain), terminal: current };
      const host = await hostTotals(trx, terminal.id, batch);
      const domesticOk = sameTotals(host.domestic, parseBlock(field48.slice(0, 31)));
      const foreignOk = sameTotals(host.foreign, parseBlock(field48.slice(31, 62)));
      const next = batch >= 999_999 ? 1 : batch + 1;
      const fields: Reply['fields'] = {
        ...echoFields(req, false),
        12: ctx.local.hhmmss,
        13: ctx.local.mmdd,
        15: settlementDate(ctx.now, deps.config.settlementCutoverHour),
        32: deps.config.acquirerId,
        37: deps.rrn.next(ctx.now),
        39: RC.approved,
        48: totalsBlock(host.domestic, domesticOk ? '1' : '2') + totalsBlock(host.foreign, foreignOk ? '1' : '2'),
        49: '156',
      };
      await trx.updateTable('batches').set({ status: 'closed', closed_at: ctx.now, settlement_response: storeFields(fields), balanced: domesticOk && foreignOk ? 1 : 0 }).where('terminal_id', '=', terminal.id).where('batch', '=', batch).execute();
      await trx.insertInto('batches').values({ terminal_id: terminal.id, batch: next, status: 'open', opened_at: ctx.now, closed_at: null, settlement_response: null, balanced: null }).onConflict((oc) => oc.columns(['terminal_id', 'batch']).doUpdateSet({ status: 'open', opened_at: ctx.now, closed_at: null, settlement_response: null, balanced: null })).execute();
      await updateTerminal(trx, terminal.id, { open_batch: next, last_closed_batch: batch });
      await settleToMerchant(trx, ctx, host.domestic.debitFen + host.foreign.debitFen - host.domestic.creditFen - host.foreign.creditFen);
      // Tombstones are kept until their batch is settled and at least 24 hours (§8.2).
      await trx.deleteFrom('transactions').where('status', '=', 'tombstone').where('terminal_id', '=', terminal.id).where('batch', '<>', next).where('created_at', '<', ctx.now - 86_400_000).execute();
      deps.log.info({ tid: terminal.tid, batch, balanced: domesticOk && foreignOk }, 'batch settled');
      return { reply: { fields, mac: false }, terminal: { ...current, open_batch: next, last_closed_batch: batch } };
    }, [], { alone: true }), // alone: the sales queued before it are committed when it counts the batch
  );
}

/** Net takings of the batch move from pending to available, less the merchant discount fee (rounded half up). */
async function settleToMerchant(trx: Trx, ctx: Ctx, netFen: number): Promise<void> {
  const merchant = (await merchantById(trx, ctx.merchant.id))!;
  const pending = ACCOUNTS.merchantPending(merchant.id);
  const available = ACCOUNTS.merchantAvailable(merchant.id);
  if (netFen > 0) {
    const feeFen = Math.floor((netFen * merchant.fee_rate_ppm) / 1_000_000 + 0.5);
    const lines = [
      { account: pending, amountFen: netFen },
      { account: available, amountFen: -(netFen - feeFen) },
    ];
    if (feeFen > 0) lines.push({ account: ACCOUNTS.feeIncome, amountFen: -feeFen });
    await post(trx, 'settlement', null, lines, ctx.now);
  } else if (netFen < 0) {
    await post(trx, 'settlement', null, [
      { account: available, amountFen: -netFen },
      { account: pending, amountFen: netFen },
    ], ctx.now);
  }
}

/** §5.4 batch upload: store the terminal's items and reconcile at the end; never changes the ledger. */
async function upload(ctx: Ctx): Promise<ManagementResult> {
  const { deps, terminal, req, entry } = ctx;
  if (entry.kind === 'upload_other') return { reply: reply(ctx, RC.approved) };
  const batch = req.batch;
  if (batch === undefined || batch !== terminal.last_closed_batch) return { reply: reply(ctx, RC.signInAgain) };
  const field48 = req.text(48)!;
  if (entry.kind === 'upload_detail') {
    const count = Number(field48.slice(0, 2));
    if (!/^[0-9]+$/.test(field48) || count < 1 || count > 8 || field48.length < 2 + 40 * count) return { reply: reply(ctx, RC.formatError) };
    await deps.store.transact(async (trx) => {
      for (let i = 0; i < count; i++) {
        const item = field48.slice(2 + 40 * i, 42 + 40 * i);
        const pan = item.slice(8, 28).replace(/^0+/, '');
        await trx
          .insertInto('batch_upload_items')
          .values({ terminal_id: terminal.id, batch, stan: item.slice(2, 8), pan_hash: pan.length >= 12 ? deps.hsm.panHash(pan) : '', amount_fen: Number(item.slice(28, 40)), org_flag: item.slice(0, 2), created_at: ctx.now })
          // an item sent again (the upload repeated) is kept as first sent
          .onConflict((oc) => oc.columns(['terminal_id', 'batch', 'stan']).doNothing())
          .execute();
      }
    });
    return { reply: reply(ctx, RC.approved) };
  }
  const declared = Number(field48.slice(0, 4));
  await deps.store.transact((trx) => reconcile(trx, ctx, batch, declared));
  return { reply: reply(ctx, RC.approved, { 48: field48 }) };
}

async function reconcile(trx: Trx, ctx: Ctx, batch: number, declared: number): Promise<void> {
  const { terminal, now } = ctx;
  const items = await trx.selectFrom('batch_upload_items').selectAll().where('terminal_id', '=', terminal.id).where('batch', '=', batch).execute();
  const ours = await trx
    .selectFrom('transactions')
    .select(['stan', 'amount_fen', 'pan_hash'])
    .where('terminal_id', '=', terminal.id)
    .where('batch', '=', batch)
    .where('response_code', '=', '00')
    .where('type', 'in', ['22', '20', '25'])
    .where('status', 'not in', ['voided', 'reversed'])
    .execute();
  const alerts: { kind: string; detail: Record<string, unknown> }[] = [];
  if (declared !== items.length) alerts.push({ kind: 'upload_count_mismatch', detail: { declared, received: items.length } });
  const byStan = new Map(ours.map((t) => [t.stan, t]));
  const uploaded = new Set<string>();
  for (const item of items) {
    uploaded.add(item.stan);
    const t = byStan.get(item.stan);
    if (!t) alerts.push({ kind: 'upload_unknown_to_host', detail: { stan: item.stan, amount_fen: item.amount_fen } });
    else if (t.amount_fen !== item.amount_fen || (item.pan_hash !== '' && item.pan_hash !== t.pan_hash)) alerts.push({ kind: 'upload_differs', detail: { stan: item.stan, host_fen: t.amount_fen, terminal_fen: item.amount_fen } });
  }
  if (items.length > 0) for (const t of ours) if (!uploaded.has(t.stan)) alerts.push({ kind: 'upload_missing_from_terminal', detail: { stan: t.stan, amount_fen: t.amount_fen } });
  // an upload ended again raises only what the first did not (alerts since this batch closed: batch numbers wrap)
  const { closed_at: closedAt } = await trx.selectFrom('batches').select('closed_at').where('terminal_id', '=', terminal.id).where('batch', '=', batch).executeTakeFirstOrThrow();
  const raised = await trx.selectFrom('alerts').select(['kind', 'detail']).where('terminal_id', '=', terminal.id).where('kind', 'like', 'upload_%').where('created_at', '>=', closedAt ?? 0).execute();
  const known = new Set(raised.map((r) => `${r.kind} ${r.detail}`));
  for (const a of alerts) {
    if (known.has(`${a.kind} ${JSON.stringify({ batch, ...a.detail })}`)) continue;
    await trx.insertInto('alerts').values({ kind: a.kind, terminal_id: terminal.id, merchant_id: terminal.merchant_id, detail: JSON.stringify({ batch, ...a.detail }), created_at: now }).execute();
  }
  if (alerts.length > 0) ctx.deps.log.warn({ tid: terminal.tid, batch, alerts: alerts.length }, 'batch upload differs from host records');
}
