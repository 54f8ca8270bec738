import { describe, expect, it } from 'vitest';
import { ACCOUNTS, balanceOf, verifyLedger } from '../../src/ledger/index.js';
import { ENGINES } from '../support/stores.js';
import { loseAnswer, platformFor } from '../support/platform.js';

const GOOD = '6224242900000113';
const SUPERVISOR = '315926';

describe.each(ENGINES)('host on %s: voids, refunds, pre-authorisations, reversals', (engine) => {
  const platform = platformFor(engine, { terminals: 3 });
  const pending = () => balanceOf(platform()!.platform.store.db, ACCOUNTS.merchantPending(platform()!.platform.seeded!.merchantId));
  const cardBalance = async (pan: string) => {
    const row = await platform()!.platform.store.db.selectFrom('cards').select('balance_fen').where('pan_hash', '=', platform()!.platform.hsm.panHash(pan)).executeTakeFirstOrThrow();
    return row.balance_fen;
  };

  it('void needs the supervisor, gives the money back, and cannot be done twice', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(0);
    await t.signIn();
    const before = await cardBalance(GOOD);
    const sale = await t.sale(p.card(GOOD), 2_000, '123456');
    expect(sale.rc).toBe('00');
    expect(await cardBalance(GOOD)).toBe(before - 2_000);

    const noGrant = await t.voidSale(sale.stan);
    expect(noGrant.rc).toBe('63');

    expect(await t.verifyOperator('00', '000000')).toBe('55');
    expect(await t.verifyOperator('00', SUPERVISOR)).toBe('00');
    const voided = await t.voidSale(sale.stan);
    expect(voided.rc).toBe('00');
    expect(voided.authCode).toBe(sale.authCode);
    expect(await cardBalance(GOOD)).toBe(before);

    expect(await t.verifyOperator('00', SUPERVISOR)).toBe('00');
    const again = await t.voidSale(sale.stan);
    expect(again.rc).toBe('12');
    // the void is in the batch log too, and is not itself a sale the terminal would void
    // (the card number kept only in the sale's line, which a batch upload needs)
    expect(t.batchLog.filter((e) => e.stan === sale.stan || e.stan === voided.stan).map((e) => [e.type, e.status, e.pan])).toEqual([['22', 'voided', GOOD], ['23', 'approved', '']]);
    await expect(t.voidSale(voided.stan)).rejects.toMatchObject({ code: 'unknown_transaction', message: `STAN ${voided.stan} is not a sale in this batch` });

    // a void the cardholder confirms with the PIN (22 = 011, 52 and 53): the card is keyed from the batch log, without an expiry date
    const second = await t.sale(p.card(GOOD), 1_500, '123456');
    expect(await t.verifyOperator('00', SUPERVISOR)).toBe('00');
    expect((await t.voidSale(second.stan, '123456')).rc).toBe('00');
    expect(await cardBalance(GOOD)).toBe(before);
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);
  });

  it('refunds: partial refunds up to the original amount, then 61', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(1);
    await t.signIn();
    const sale = await t.sale(p.card(GOOD), 5_000, '123456');
    expect(sale.rc).toBe('00');
    const original = { rrn: sale.rrn!, date: sale.date!, batch: sale.batch, stan: sale.stan };
    await t.verifyOperator('00', SUPERVISOR);
    const r1 = await t.refund(p.card(GOOD), original, 3_000);
    expect(r1.rc).toBe('00');
    await t.verifyOperator('00', SUPERVISOR);
    const r2 = await t.refund(p.card(GOOD), original, 2_001);
    expect(r2.rc).toBe('61');
    await t.verifyOperator('00', SUPERVISOR);
    const r3 = await t.refund(p.card(GOOD), original, 2_000);
    expect(r3.rc).toBe('00');
    await t.verifyOperator('00', SUPERVISOR);
    expect((await t.refund(p.card(GOOD), { ...original, rrn: 'NOSUCHRRN000' }, 100)).rc).toBe('25');
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);
  });

  it('an unanswered sale is reversed before the next request, and the money comes back', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(2, { responseTimeoutMs: 2_000 });
    await t.signIn();
    const before = await cardBalance(GOOD);
    const pendingBefore = await pending();
    // Simulate a lost answer: the request reaches the host, the terminal never reads the reply.
    const sale = await t.sale(p.card(GOOD), 777, '123456');
    expect(sale.rc).toBe('00');
    // Put the pending reversal back as if the reply had been lost, then run the next sale.
    loseAnswer(t, sale);
    expect(await cardBalance(GOOD)).toBe(before - 777);
    const next = await t.sale(p.card(GOOD), 100, '123456');
    expect(next.rc).toBe('00');
    expect(t.pendingReversal).toBeUndefined();
    expect(await cardBalance(GOOD)).toBe(before - 100);
    expect(await pending()).toBe(pendingBefore - 100);
    const reversed = await p.platform.store.db.selectFrom('transactions').select(['status', 'reversal_reason']).where('stan', '=', sale.stan).where('terminal_id', '=', (await p.platform.store.db.selectFrom('terminals').select('id').where('tid', '=', t.tid).executeTakeFirstOrThrow()).id).executeTakeFirstOrThrow();
    expect(reversed).toEqual({ status: 'reversed', reversal_reason: '98' });
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);
  });

  it('a sale or completion with a refund against it can be neither voided nor reversed: 12, and nothing moves twice', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(2);
    await t.signIn();
    const before = await cardBalance(GOOD);
    const pendingBefore = await pending();
    const sale = await t.sale(p.card(GOOD), 3_000, '123456');
    expect(sale.rc).toBe('00');
    await t.verifyOperator('00', SUPERVISOR);
    expect((await t.refund(p.card(GOOD), { rrn: sale.rrn!, date: sale.date!, batch: sale.batch, stan: sale.stan }, 1_000)).rc).toBe('00');
    expect(await cardBalance(GOOD)).toBe(before - 2_000);

    // A void would give back the whole sale on top of the refund.
    await t.verifyOperator('00', SUPERVISOR);
    expect((await t.voidSale(sale.stan)).rc).toBe('12');
    expect(await cardBalance(GOOD)).toBe(before - 2_000);

    // So would a reversal of it (a terminal that never saw the sale's answer): 12, and an alert for the back office.
    loseAnswer(t, sale);
    expect((await t.sale(p.card(GOOD), 100, '123456')).rc).toBe('00');
    expect(t.pendingReversal).toBeUndefined();
    expect(await cardBalance(GOOD)).toBe(before - 2_100);
    expect(await pending()).toBe(pendingBefore - 2_100);
    const alerts = await p.platform.store.db.selectFrom('alerts').select(['kind', 'detail']).where('kind', '=', 'reversal_of_refunded').execute();
    expect(alerts).toHaveLength(1);
    expect(JSON.parse(alerts[0]!.detail).reason).toBe('98');

    // The same for a completion with a refund against it.
    const card = p.card(GOOD, 'keyed');
    const auth = await t.preauth(card, 5_000, '123456');
    const completion = await t.completion(card, { authCode: auth.authCode!, date: auth.date! }, 5_000);
    expect(completion.rc).toBe('00');
    await t.verifyOperator('00', SUPERVISOR);
    expect((await t.refund(card, { rrn: completion.rrn!, date: completion.date!, batch: completion.batch, stan: completion.stan }, 500)).rc).toBe('00');
    await t.verifyOperator('00', SUPERVISOR);
    expect((await t.completionVoid(completion.stan)).rc).toBe('12');
    expect(await cardBalance(GOOD)).toBe(before - 2_100 - 4_500);
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);
  });

  it('pre-authorisation, completion within 115 %, completion void, pre-auth void', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(0);
    await t.signIn();
    const card = p.card(GOOD, 'keyed');
    const before = await cardBalance(GOOD);
    const auth = await t.preauth(card, 10_000, '123456');
    expect(auth.rc).toBe('00');
    expect(await cardBalance(GOOD)).toBe(before); // a hold, not a debit
    const hold = { authCode: auth.authCode!, date: auth.date! };
    expect((await t.completion(card, hold, 11_501)).rc).toBe('61'); // above 115 %
    const completion = await t.completion(card, hold, 11_500);
    expect(completion.rc).toBe('00');
    expect(await cardBalance(GOOD)).toBe(before - 11_500);
    await t.verifyOperator('00', SUPERVISOR);
    expect((await t.completionVoid(completion.stan)).rc).toBe('00');
    expect(await cardBalance(GOOD)).toBe(before);
    await t.verifyOperator('00', SUPERVISOR);
    expect((await t.preauthVoid(card, { ...hold, amountFen: 10_000 })).rc).toBe('00');
    await t.verifyOperator('00', SUPERVISOR);
    expect((await t.preauthVoid(card, { ...hold, amountFen: 10_000 })).rc).toBe('12'); // already voided
    const held = await p.platform.store.db.selectFrom('cards').select('held_fen').where('pan_hash', '=', p.platform.hsm.panHash(GOOD)).executeTakeFirstOrThrow();
    expect(held.held_fen).toBe(0);
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);
  });

  it('a pre-authorisation older than 30 days cannot be completed (12) and its hold goes back to the card', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(2);
    await t.signIn();
    const card = p.card(GOOD, 'keyed');
    const available = async () => (await t.balance(p.card(GOOD), '123456')).balanceFen!;
    const before = await available();
    const fresh = await t.preauth(card, 7_000, '123456');
    const old = await t.preauth(card, 4_000, '123456');
    expect([fresh.rc, old.rc]).toEqual(['00', '00']);
    expect(await available()).toBe(before - 11_000);

    // 31 days pass for the second pre-authorisation, 29 for the first
    const db = p.platform.store.db;
    const age = async (rrn: string, days: number) => {
      const txn = await db.selectFrom('transactions').select(['hold_id', 'created_at']).where('rrn', '=', rrn).executeTakeFirstOrThrow();
      const then = txn.created_at - days * 86_400_000;
      await db.updateTable('transactions').set({ created_at: then }).where('rrn', '=', rrn).execute();
      await db.updateTable('card_holds').set({ created_at: then }).where('id', '=', txn.hold_id!).execute();
    };
    await age(old.rrn!, 31);
    await age(fresh.rrn!, 29);

    expect((await t.completion(card, { authCode: old.authCode!, date: old.date! }, 4_000)).rc).toBe('12');
    // the next authorisation on the card releases the expired hold, and only that one
    expect(await available()).toBe(before - 7_000);
    expect(await available()).toBe(before - 7_000);
    const holds = await db.selectFrom('card_holds').innerJoin('transactions', 'transactions.hold_id', 'card_holds.id').select(['transactions.rrn', 'card_holds.status']).where('transactions.rrn', 'in', [old.rrn!, fresh.rrn!]).execute();
    expect(Object.fromEntries(holds.map((h) => [h.rrn, h.status]))).toEqual({ [old.rrn!]: 'expired', [fresh.rrn!]: 'held' });

    // a void of the expired pre-authorisation is answered but gives back nothing a second time
    await t.verifyOperator('00', SUPERVISOR);
    expect((await t.preauthVoid(card, { authCode: old.authCode!, date: old.date!, amountFen: 4_000 })).rc).toBe('00');
    expect(await available()).toBe(before - 7_000);
    // the 29-day-old one still completes
    expect((await t.completion(card, { authCode: fresh.authCode!, date: fresh.date! }, 7_000)).rc).toBe('00');
    expect(await available()).toBe(before - 7_000);
    expect((await verifyLedger(db)).ok).toBe(true);
  });

  it('balance inquiry answers the available balance in field 54', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(1);
    await t.signIn();
    const r = await t.balance(p.card(GOOD), '123456');
    expect(r.rc).toBe('00');
    expect(r.balanceFen).toBe(await cardBalance(GOOD));
    expect(String(r.response!.get(54))).toMatch(/^1002156C[0-9]{12}$/);
  });
});
