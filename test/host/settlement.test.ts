import { describe, expect, it } from 'vitest';
import { BATCH_SETTLE_AT, type Settlement } from '../../src/terminal/index.js';
import { ACCOUNTS, balanceOf, verifyLedger } from '../../src/ledger/index.js';
import { setPasswordFree, passwordFreeOf, merchantById } from '../../src/merchants/index.js';
import { ENGINES } from '../support/stores.js';
import { platformFor } from '../support/platform.js';

const GOOD = '6224242900000113';

describe.each(ENGINES)('host on %s: settlement, batch upload, password-free payments', (engine) => {
  const platform = platformFor(engine, { terminals: 3 });
  const merchant = () => platform()!.platform.seeded!.merchantId;
  const CREDIT = () => platform()!.info.cards.find((c) => c.description.startsWith('credit, limit'))!.pan;
  const account = (a: string) => balanceOf(platform()!.platform.store.db, a);

  it('settles a balanced batch: totals agree, the batch closes, takings minus 0.60 % become available', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(0);
    await t.signIn();
    const availableBefore = await account(ACCOUNTS.merchantAvailable(merchant()));
    const feeBefore = await account(ACCOUNTS.feeIncome);
    for (const amount of [10_000, 20_000, 33_333]) expect((await t.sale(p.card(GOOD), amount, '123456')).rc).toBe('00');
    const voided = await t.sale(p.card(GOOD), 5_000, '123456');
    await t.verifyOperator('00', '315926');
    expect((await t.voidSale(voided.stan)).rc).toBe('00');
    const r = await t.settle();
    expect(r).toMatchObject({ rc: '00', balanced: true, batch: 1, uploaded: 0 });
    expect(r.totals).toBe(`000000063333003${'0'.repeat(15)}1${'0'.repeat(30)}1`);
    expect(t.batch).toBe(2);
    // 63,333 fen × 0.60 % = 379.998 → 380 fen fee
    expect((await account(ACCOUNTS.feeIncome)) - feeBefore).toBe(-380);
    expect((await account(ACCOUNTS.merchantAvailable(merchant()))) - availableBefore).toBe(-(63_333 - 380));
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);
    // the terminal is now in batch 2 and keeps trading
    expect((await t.sale(p.card(GOOD), 100, '123456')).rc).toBe('00');
  });

  it('an unbalanced settlement is followed by a batch upload that raises reconciliation alerts', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(1);
    await t.signIn();
    expect((await t.sale(p.card(GOOD), 1_000, '123456')).rc).toBe('00');
    expect((await t.sale(p.card(GOOD), 2_000, '123456')).rc).toBe('00');
    // the terminal "forgets" one sale and misreports another
    const log = t.batchLog as unknown as { amountFen: number }[];
    (log as unknown[]).splice(0, 1);
    log[0]!.amountFen = 2_500;
    const r = await t.settle();
    expect(r).toMatchObject({ rc: '00', balanced: false, uploaded: 1 });
    const alerts = async () => (await p.platform.store.db.selectFrom('alerts').select(['kind']).where('kind', 'like', 'upload_%').execute()).map((a) => a.kind).sort();
    expect(await alerts()).toEqual(['upload_differs', 'upload_missing_from_terminal']);
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);

    // the terminal sends the whole upload again (its answer to the end was lost): nothing is counted or raised twice
    await (t as unknown as { uploadBatch(batch: number, entries: readonly unknown[]): Promise<number> }).uploadBatch(r.batch, log);
    expect(await alerts()).toEqual(['upload_differs', 'upload_missing_from_terminal']);
    const items = await p.platform.store.db.selectFrom('batch_upload_items').select('stan').where('batch', '=', r.batch).execute();
    expect(items).toHaveLength(1);
  });

  it('a repeated settlement of the batch just closed gets the stored answer; another batch gets 77', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(0);
    const { IsoMessage } = await import('../../src/iso8583/index.js');
    const settle = (batch: number) =>
      t.raw(new IsoMessage('0500').set(11, t.nextStan()).set(41, t.tid).set(42, p!.info.terminals[0]!.mid).set(48, '0'.repeat(62)).set(49, '156').set(60, `00${String(batch).padStart(6, '0')}201`).set(63, '01 '), false);
    const replay = await settle(1);
    expect(replay?.message.get(39)).toBe('00');
    expect(String(replay?.message.get(48))).toBe(`000000063333003${'0'.repeat(15)}1${'0'.repeat(30)}1`);
    expect((await settle(7))?.message.get(39)).toBe('77');
  });

  it('password-free: a tap under the limit needs no PIN; above it, the host asks for one (55)', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(2);
    await t.signIn();
    const params = await t.downloadPasswordFreeParameters();
    expect(params).toMatchObject({ FF8054: '1', FF8058: '000000100000', FF9001: '0900', FF9002: '2200' });
    // the demo window is 09:00–22:00 merchant time; open it to all day so the test does not depend on the clock
    await p.platform.store.transact(async (trx) => {
      const m = (await merchantById(trx, merchant()))!;
      await setPasswordFree(trx, m.id, { ...passwordFreeOf(m), windowStart: '0000', windowEnd: '0000' });
    });
    p.platform.host.deps.registry.forgetMerchant(merchant());
    const tap = p.card(CREDIT(), 'tap');
    const small = await t.sale(tap, 50_000);
    expect(small.rc).toBe('00');
    expect(small.passwordFree).toBe(true);
    expect(small.response!.get(63)).toBe('CUP');
    const large = await t.sale(tap, 100_001);
    expect(large.rc).toBe('55');
    const withPin = await t.sale(tap, 100_001, '888888');
    expect(withPin.rc).toBe('00');
    // the settings changed after the download: the responses' header asked for a new download (9),
    // which the terminal made before its next request — it now holds the all-day window
    expect(t.passwordFreeParameters?.FF9001).toBe('0000');
    expect(t.passwordFreeParameters?.FF9002).toBe('0000');
  });

  it('password-free: the daily count cap sends the 11th payment to the PIN', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(2);
    const tap = p.card(CREDIT(), 'tap');
    await t.downloadPasswordFreeParameters();
    const rcs: string[] = [];
    for (let i = 0; i < 10; i++) rcs.push((await t.sale(tap, 100)).rc);
    // one password-free payment was made in the previous test: 9 more are allowed today, then 55
    expect(rcs.filter((rc) => rc === '00')).toHaveLength(9);
    expect(rcs[9]).toBe('55');
  });

  it('a debit card without a PIN on a swipe is declined 55 by the issuer', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(2);
    const r = await t.sale(p.card(GOOD), 100);
    expect(r.rc).toBe('55');
  });
});

describe.each(ENGINES)('host on %s: full batches', (engine) => {
  const platform = platformFor(engine, { terminals: 2 });

  it(`a terminal settles its batch at ${BATCH_SETTLE_AT} transactions, before it sends the next one`, async () => {
    const p = platform();
    if (!p) return;
    const forced: Settlement[] = [];
    const t = p.terminal(0, { onForcedSettlement: (s) => forced.push(s) });
    await t.signIn();
    const batch = t.batch;
    for (let i = 0; i < BATCH_SETTLE_AT; i++) expect((await t.sale(p.card(GOOD), 1, '123456')).rc).toBe('00');
    expect(forced).toEqual([]);
    const next = await t.sale(p.card(GOOD), 1, '123456');
    expect(next).toMatchObject({ rc: '00', batch: batch + 1 });
    expect(forced).toHaveLength(1);
    expect(forced[0]).toMatchObject({ rc: '00', balanced: true, batch, uploaded: 0 });
    expect(forced[0]!.totals).toBe(`000000000500500${'0'.repeat(15)}1${'0'.repeat(30)}1`);
    expect(t.batchLog).toHaveLength(1);
  });

  it('a batch past the three-digit counts (a terminal that never settled) still gets a well-formed 0510: saturated, not balanced', async () => {
    const p = platform();
    if (!p) return;
    // a terminal that keeps no batch log, as a third-party terminal that does not count might
    const t = p.terminal(1, { keepBatchLog: false });
    await t.signIn();
    const sale = await t.sale(p.card(GOOD), 100, '123456');
    expect(sale.rc).toBe('00');
    // the host's records of 1,000 more sales in the batch, copied from that one
    const db = p.platform.store.db;
    const row = await db.selectFrom('transactions').selectAll().where('rrn', '=', sale.rrn!).executeTakeFirstOrThrow();
    for (let chunk = 0; chunk < 10; chunk++) {
      const copies = Array.from({ length: 100 }, (_, i) => ({ ...row, id: `${row.id}-${chunk}-${i}`, stan: String(900_000 + chunk * 100 + i), rrn: `${row.rrn.slice(0, 6)}${String(chunk * 100 + i).padStart(6, '0')}` }));
      await db.insertInto('transactions').values(copies).execute();
    }
    const r = await t.settle();
    expect(r).toMatchObject({ rc: '00', balanced: false });
    expect(r.totals).toMatch(/^[0-9]{62}$/);
    expect(r.totals.slice(0, 31)).toBe(`000000100100999${'0'.repeat(15)}2`);
  });
});
