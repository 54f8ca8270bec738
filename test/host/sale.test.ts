import { describe, expect, it } from 'vitest';
import { verifyLedger, balanceOf, ACCOUNTS } from '../../src/ledger/index.js';
import { demoChipCard } from '../../src/demo/seed.js';
import { decodeTlv } from '../../src/iso8583/index.js';
import { ChipCardSimulator } from '../../src/terminal/index.js';
import { ENGINES } from '../support/stores.js';
import { platformFor } from '../support/platform.js';

describe.each(ENGINES)('host on %s: sign-in and sales', (engine) => {
  const platform = platformFor(engine);

  it('a terminal signs in, takes the working keys and the open batch', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(0);
    const r = await t.signIn();
    expect(r).toEqual({ rc: '00', batch: 1 });
    expect(t.signedIn).toBe(true);
  });

  it('a PIN that is not 4 to 12 digits is refused by the terminal: nothing is sent, no reversal is left', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(0);
    await t.signIn();
    const before = await verifyLedger(p.platform.store.db);
    for (const pin of ['12', '1234567890123', '12a4']) await expect(t.sale(p.card('6224242900000113'), 500, pin)).rejects.toMatchObject({ code: 'invalid_input' });
    expect(t.pendingReversal).toBeUndefined();
    expect((await verifyLedger(p.platform.store.db)).postings).toBe(before.postings);
    expect((await t.sale(p.card('6224242900000113'), 500, '123456')).rc).toBe('00');
  });

  it('every demo card gets the documented answer to a PIN sale of ¥12.34', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(0);
    await t.signIn();
    for (const c of p.info.cards) {
      const r = await t.sale(p.card(c.pan), 1234, c.pin);
      expect({ card: c.description, rc: r.rc }).toEqual({ card: c.description, rc: c.expect });
    }
    // inserted: the same answers, but the counterfeit stripe's card has a genuine chip
    for (const c of p.info.cards) {
      const r = await t.sale(p.card(c.pan, 'chip'), 1234, c.pin);
      expect({ card: c.description, rc: r.rc }).toEqual({ card: c.description, rc: c.expect === '05' ? '00' : c.expect });
    }
  });

  it('the issuer checks the CVV on a swiped stripe: a counterfeit gets 05 and moves nothing, the same card keyed is approved', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(1);
    await t.signIn();
    const fake = p.info.cards.find((c) => c.expect === '05')!;
    const before = await verifyLedger(p.platform.store.db);
    expect((await t.sale(p.card(fake.pan, 'swipe'), 1_000, fake.pin)).rc).toBe('05');
    expect((await t.sale(p.card(fake.pan, 'fallback'), 1_000, fake.pin)).rc).toBe('05');
    expect((await verifyLedger(p.platform.store.db)).totals).toEqual(before.totals);
    expect((await t.sale(p.card(fake.pan, 'keyed'), 1_000, fake.pin)).rc).toBe('00');

    // A good card's stripe: its own CVV passes; one digit changed, or no discretionary data at all, does not.
    const good = p.info.cards.find((c) => c.pan.startsWith('6224242900000') && c.expect === '51')!;
    const [head, data] = [good.track2.slice(0, good.track2.indexOf('=') + 8), good.track2.slice(good.track2.indexOf('=') + 8)];
    const swipe = (track2: string) => t.sale({ entry: 'swipe', pan: good.pan, expiry: good.expiry, track2 }, 1_000, good.pin);
    expect((await swipe(good.track2)).rc).toBe('51'); // past the stripe check, declined for funds
    const wrongDigit = `${head}${String((Number(data[0]) + 1) % 10)}${data.slice(1)}`;
    expect((await swipe(wrongDigit)).rc).toBe('05');
    expect((await swipe(head)).rc).toBe('05');
  });

  it('the issuer checks the chip\'s ARQC: a genuine chip is approved with an ARPC it accepts, a cloned or altered one gets 05 and moves nothing', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(1);
    await t.signIn();
    const good = '6224242900000113';
    const inserted = await t.sale(p.card(good, 'chip'), 1_500, '123456');
    expect(inserted.rc).toBe('00');
    expect(inserted.issuerAuthenticated).toBe(true);
    const tag91 = decodeTlv(inserted.response!.get(55) as Buffer).find((o) => o.tag === '91')!.value;
    expect(tag91.subarray(8).toString('latin1')).toBe('00'); // ARPC ‖ ARC
    expect((await t.sale(p.card(good, 'tap'), 1_500, '123456')).issuerAuthenticated).toBe(true);

    const before = await verifyLedger(p.platform.store.db);
    // a chip personalised with some other issuer key: a clone
    const clone = ChipCardSimulator.personalised(Buffer.from('00112233445566778899AABBCCDDEEFF', 'hex'), good);
    const cloned = await t.sale({ entry: 'chip', pan: good, expiry: '2812', chip: clone }, 1_500, '123456');
    expect(cloned.rc).toBe('05');
    expect(cloned.response!.get(55)).toBeUndefined();
    // a genuine cryptogram (the card's counter well ahead) for ¥15.00 sent with ¥25.00 in field 4
    const chip = demoChipCard(good, '01', 1_000);
    const icc = chip.generateArqc({ amountFen: 1_500, type: '00' });
    const sent = (data: Buffer, fen: number) => t.sale({ entry: 'chip', pan: good, expiry: '2812', icc: data, cardSequence: chip.cardSequence }, fen, '123456');
    expect((await sent(icc, 2_500)).rc).toBe('05');
    // the same genuine cryptogram, its ARQC altered
    const altered = Buffer.from(icc);
    altered[3]! ^= 0x01; // first byte of 9F26's value (tag 9F26, length 08)
    expect((await sent(altered, 1_500)).rc).toBe('05');
    expect((await verifyLedger(p.platform.store.db)).totals).toEqual(before.totals);

    // replays: a genuine cryptogram is approved once; sent again (a new STAN), or one the card made
    // before its last, it is declined — the issuer wants the card's counter (ATC) to rise
    const older = chip.generateArqc({ amountFen: 1_500, type: '00' });
    const genuine = chip.generateArqc({ amountFen: 1_500, type: '00' });
    expect((await sent(genuine, 1_500)).rc).toBe('00');
    expect((await sent(genuine, 1_500)).rc).toBe('05');
    expect((await sent(older, 1_500)).rc).toBe('05');
    expect((await sent(chip.generateArqc({ amountFen: 1_500, type: '00' }), 1_500)).rc).toBe('00');

    // a decline after a good cryptogram still answers it, with the decline code as ARC
    const empty = p.info.cards.find((c) => c.expect === '51')!;
    const declined = await t.sale(p.card(empty.pan, 'chip'), 1_500, empty.pin);
    expect(declined.rc).toBe('51');
    expect(declined.issuerAuthenticated).toBe(true);
  });

  it('a chip that refuses the issuer\'s answer turns an approval into a decline: the terminal reverses it (06) before its next request, and the money comes back', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(1);
    await t.signIn();
    const good = '6224242900000113';
    const balance = async () => (await p.platform.store.db.selectFrom('cards').select('balance_fen').where('pan_hash', '=', p.platform.hsm.panHash(good)).executeTakeFirstOrThrow()).balance_fen;
    const before = await balance();
    // the card is pulled out, or its second GENERATE AC refuses the ARPC: it does not accept the answer
    const chip = demoChipCard(good, '01', 5_000); // its counter ahead of every chip this card used before
    chip.checkIssuerAuthentication = () => false;
    const sale = await t.sale({ entry: 'chip', pan: good, expiry: '2812', chip }, 2_700, '123456');
    expect(sale).toMatchObject({ rc: '00', approved: false, problem: 'card_declined', issuerAuthenticated: false });
    expect(t.pendingReversal).toMatchObject({ reason: '06', fields: { 11: sale.stan, 38: sale.response!.get(38) } });
    expect(t.batchLog.some((e) => e.stan === sale.stan)).toBe(false);
    expect(await balance()).toBe(before - 2_700);

    expect((await t.sale(p.card(good), 100, '123456')).rc).toBe('00');
    expect(t.pendingReversal).toBeUndefined();
    expect(await balance()).toBe(before - 100);
    const reversed = await p.platform.store.db.selectFrom('transactions').select(['status', 'reversal_reason']).where('rrn', '=', sale.rrn!).executeTakeFirstOrThrow();
    expect(reversed).toEqual({ status: 'reversed', reversal_reason: '06' });
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);
  });

  it('an approved sale is one balanced posting: card funds up, merchant pending up', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(1);
    await t.signIn();
    const merchant = p.platform.seeded!.merchantId;
    const before = await balanceOf(p.platform.store.db, ACCOUNTS.merchantPending(merchant));
    const r = await t.sale(p.card('6224242900000113'), 10_000, '123456');
    expect(r.rc).toBe('00');
    expect(r.rrn).toMatch(/^[0-9A-Z]{12}$/);
    expect(r.authCode).toMatch(/^[0-9]{6}$/);
    expect(await balanceOf(p.platform.store.db, ACCOUNTS.merchantPending(merchant))).toBe(before - 10_000);
    const report = await verifyLedger(p.platform.store.db);
    expect(report.ok).toBe(true);
  });
});
