import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cup, unpackCupFrame } from '../../src/iso8583/index.js';
import { verifyLedger } from '../../src/ledger/index.js';
import { merchantByMid, passwordFreeOf, setPasswordFree } from '../../src/merchants/index.js';
import { noPanInStoredResponses } from '../../src/store/migrations/0012_no_pan_in_stored_responses.js';
import { ENGINES, postgresReachable } from '../support/stores.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { RawLink } from '../support/raw-link.js';
import { build, buildUnmaced, giveSpecKeys, hex, macOk, pinBlock, saleFields, saleFieldsWithoutPin } from '../support/spec-frames.js';

// shared/protocol/terminal-iso8583.md §12.2: sale, swipe with PIN, ¥12.34, STAN 2, batch 1, encrypted track.
const SALE_12_2 = hex(`007760000300006031000102000200302004C020C0981300000000000000123400000202100012336224242900000113D16A
85D268D5897600333030303030303138393833313030353431313030303131353623B72AC5781BA141261000000000000000
142200000100060000033031204444343933414333`);

function decode(frame: Buffer | null) {
  expect(frame).not.toBeNull();
  return unpackCupFrame(cup, frame!, true);
}

describe.each(ENGINES)('host on %s: the protocol, byte for byte, and bad input', (engine) => {
  let p: TestPlatform | undefined;
  let link: RawLink;
  beforeAll(async () => {
    if (engine === 'postgres' && !(await postgresReachable())) return;
    p = await startTestPlatform(engine);
    await giveSpecKeys(p);
    link = await RawLink.open(p.platform.iso.port);
  });
  afterAll(async () => {
    link?.close();
    await p?.close();
  });

  let firstAnswer: Buffer | null = null;
  it('approves the §12.2 sale frame as sent, with a response MAC the terminal verifies', async () => {
    if (!p) return;
    const response = await link.exchange(SALE_12_2);
    firstAnswer = response;
    const { message: m, tpdu, header } = decode(response);
    expect(tpdu).toEqual({ id: '60', destination: '0000', source: '0003' });
    // 9: this terminal has not downloaded the merchant's password-free parameters yet (§1.3, §9.3)
    expect(header.processingRequest).toBe('9');
    expect(m.mti).toBe('0210');
    expect(m.get(39)).toBe('00');
    expect(m.fieldNumbers()).toEqual([3, 4, 11, 12, 13, 15, 25, 32, 37, 38, 39, 41, 42, 44, 49, 60, 63, 64]);
    expect(m.get(63)).toBe('CUP');
    expect(m.get(44)).toBe('01020000   99990000   ');
    expect(macOk(response!)).toBe(true);
  });

  it('answers an exact retransmission with the stored response and moves no money again', async () => {
    if (!p) return;
    const before = await verifyLedger(p.platform.store.db);
    const againFrame = await link.exchange(SALE_12_2);
    // the same message, byte for byte, from the MTI on (the header's processing-request nibble is current)
    expect(againFrame!.subarray(13).equals(firstAnswer!.subarray(13))).toBe(true);
    const again = decode(againFrame).message;
    const first = await p.platform.store.db.selectFrom('transactions').select(['rrn', 'auth_code']).where('stan', '=', '000002').executeTakeFirstOrThrow();
    expect(again.get(39)).toBe('00');
    expect(again.get(37)).toBe(first.rrn);
    expect(String(again.get(38)).trim()).toBe(first.auth_code);
    const after = await verifyLedger(p.platform.store.db);
    expect(after.postings).toBe(before.postings);
  });

  it('a keyed sale retransmitted gets its answer byte for byte, field 2 included, though the stored answer holds no PAN', async () => {
    if (!p) return;
    const keyed = build(saleFields('000003', 2_500));
    const first = await link.exchange(keyed);
    expect(decode(first).message.get(2)).toBe('6224242900000113');
    const stored = await p.platform.store.db.selectFrom('transactions').select('response').where('stan', '=', '000003').executeTakeFirstOrThrow();
    expect(cup.unpack(Buffer.from(stored.response, 'base64')).has(2)).toBe(false);
    const again = await link.exchange(keyed);
    expect(again!.subarray(13).equals(first!.subarray(13))).toBe(true);
    expect(macOk(again!)).toBe(true);
  });

  it('migration 0012 takes the PAN out of answers stored before, and leaves every other field as it was', async () => {
    if (!p) return;
    const { db } = p.platform.store;
    // as stored before: the answer as sent, field 2 and all; and an older row's JSON fields
    const sent = unpackCupFrame(cup, (await link.exchange(build(saleFields('000003', 2_500))))!, true).message;
    const packed = cup.pack(sent).toString('base64');
    await db.updateTable('transactions').set({ response: packed }).where('stan', '=', '000003').execute();
    await db.updateTable('transactions').set({ response: JSON.stringify({ 2: { t: 's', v: '6224242900000113' }, 39: { t: 's', v: '00' } }) }).where('stan', '=', '000002').execute();
    await noPanInStoredResponses.up(db);
    const rows = Object.fromEntries((await db.selectFrom('transactions').select(['stan', 'response']).where('stan', 'in', ['000002', '000003']).execute()).map((r) => [r.stan, r.response]));
    const cleaned = cup.unpack(Buffer.from(rows['000003']!, 'base64'));
    expect(cleaned.fieldNumbers()).toEqual(sent.fieldNumbers().filter((n) => n !== 2));
    for (const n of cleaned.fieldNumbers()) if (n !== 64) expect(cleaned.get(n)).toEqual(sent.get(n));
    expect(JSON.parse(rows['000002']!)).toEqual({ 39: { t: 's', v: '00' } });
  });

  it('a different request under a used STAN is a duplicate (94)', async () => {
    if (!p) return;
    const m = decode(await link.exchange(build(saleFields('000002', 999)))).message;
    expect(m.get(39)).toBe('94');
  });

  it('a forged MAC gets A0 and no MAC back', async () => {
    if (!p) return;
    const m = decode(await link.exchange(build(saleFields('000010'), '0200', true))).message;
    expect(m.get(39)).toBe('A0');
    expect(m.has(64)).toBe(false);
  });

  it.each([
    ['unknown terminal', { 41: '39999999' }, '97'],
    ['merchant not the terminal\'s', { 42: '898310054110002' }, '03'],
    ['currency other than 156', { 49: '840' }, '40'],
    ['batch other than the open one', { 60: '22000007000600' }, '77'],
    ['PIN flag without a PIN block', { 22: '012' }, '30'],
    ['amount zero', { 4: '000000000000' }, '13'],
    ['PAN that fails Luhn', { 2: '6224242900000114' }, '14'],
    ['expiry in month 13', { 14: '2813' }, '30'],
    ['chip data that is not BER-TLV', { 55: Buffer.from('9F2608AABB', 'hex') }, '30'],
  ])('%s → %s', async (_what, change, rc) => {
    if (!p) return;
    const stan = String(100 + Math.floor(Math.random() * 800000)).padStart(6, '0');
    const fields: Record<number, string | Buffer> = { ...saleFields(stan), ...change };
    if (change[22 as keyof typeof change] === '012') {
      delete fields[26];
      delete fields[52];
      delete fields[53];
      fields[22] = '011';
      fields[52] = pinBlock('123456', '6224242900000113');
      fields[26] = '12';
      fields[53] = '2600000000000000';
      fields[22] = '012';
    }
    if (change[2 as keyof typeof change]) fields[52] = pinBlock('123456', String(change[2 as keyof typeof change]));
    const m = decode(await link.exchange(build(fields))).message;
    expect(m.get(39)).toBe(rc);
  });

  it('a reversal for nothing leaves a tombstone; the late original is declined 12 and charges nothing', async () => {
    if (!p) return;
    const fields = saleFieldsWithoutPin('000500', 4_321);
    const reversal = decode(await link.exchange(build({ ...fields, 39: '98' }, '0400'))).message;
    expect(reversal.mti).toBe('0410');
    expect(reversal.get(39)).toBe('00');
    const late = decode(await link.exchange(build(saleFields('000500', 4_321)))).message;
    expect(late.get(39)).toBe('12');
    const rows = await p.platform.store.db.selectFrom('transactions').select(['status', 'amount_fen']).where('stan', '=', '000500').execute();
    expect(rows).toEqual([{ status: 'tombstone', amount_fen: 4_321 }]); // the tombstone, and no sale
    const again = decode(await link.exchange(build({ ...fields, 39: '98' }, '0400'))).message;
    expect(again.get(39)).toBe('00'); // the same reversal again: still 00
  });

  it('a reversal with a new STAN (61 = the original) for nothing leaves its tombstone on the original\'s key: the late original is declined 12', async () => {
    if (!p) return;
    const fields = saleFieldsWithoutPin('000510', 6_543);
    const reversal = build({ ...fields, 11: '000511', 39: '98', 61: '000001000510' }, '0400');
    expect(decode(await link.exchange(reversal)).message.get(39)).toBe('00');
    const late = decode(await link.exchange(build(saleFields('000510', 6_543)))).message;
    expect(late.get(39)).toBe('12');
    const rows = await p.platform.store.db.selectFrom('transactions').select(['stan', 'status', 'amount_fen']).where('stan', 'in', ['000510', '000511']).execute();
    expect(rows).toEqual([{ stan: '000510', status: 'tombstone', amount_fen: 6_543 }]); // on the original's key, and no sale
    expect(decode(await link.exchange(reversal)).message.get(39)).toBe('00'); // the same reversal again
  });

  it('answers an undecodable request it can still identify with 30, and keeps the connection', async () => {
    if (!p) return;
    const good = build(saleFields('000600'));
    const broken = Buffer.from(good);
    broken[good.indexOf(Buffer.from('156', 'latin1'))] = 0x01; // field 49, after 11 and 41, is no longer printable
    const m = decode(await link.exchange(broken)).message;
    expect(m.get(39)).toBe('30');
    expect(m.get(11)).toBe('000600');
    expect(decode(await link.exchange(build(saleFields('000601')))).message.get(39)).toBe('00');
  });

  it('closes the connection when not even the MTI, STAN and terminal ID can be read', async () => {
    if (!p) return;
    const other = await RawLink.open(p.platform.iso.port);
    const good = build(saleFields('000603'));
    const broken = Buffer.from(good);
    broken[0x10] = 0xab; // inside field 2, before 11 and 41
    other.write(broken);
    expect(await other.next(3_000)).toBeNull();
    expect(other.closed).toBe(true);
  });

  it('closes a connection on a frame length out of bounds, and only that connection', async () => {
    if (!p) return;
    for (const len of [10, 5000]) {
      const bad = await RawLink.open(p.platform.iso.port);
      bad.write(Buffer.from([len >> 8, len & 0xff, 1, 2, 3]));
      expect(await bad.next(3_000)).toBeNull();
      expect(bad.closed).toBe(true);
    }
    const m = decode(await link.exchange(build(saleFields('000602')))).message;
    expect(m.get(39)).toBe('00');
  });

  it('closes a connection that sends more than 4 frames without waiting', async () => {
    if (!p) return;
    const greedy = await RawLink.open(p.platform.iso.port);
    const frames = Array.from({ length: 12 }, (_, i) => build(saleFields(String(700 + i).padStart(6, '0'), 1)));
    greedy.write(Buffer.concat(frames));
    let answers = 0;
    while ((await greedy.next(3_000)) !== null) answers++;
    expect(greedy.closed).toBe(true);
    expect(answers).toBeLessThan(12);
  });

  it('after sign-out, MAC-bearing requests get 77 until the next sign-in', async () => {
    if (!p) return;
    const t = p.terminal(1);
    await t.signIn();
    expect(await t.signOut()).toBe('00');
    await t.signIn();
    const r = await t.sale(p.card('6224242900000113'), 100, '123456');
    expect(r.rc).toBe('00');
    await p.platform.store.db.updateTable('terminals').set({ pik: null, mak: null }).where('tid', '=', t.tid).execute();
    p.platform.host.deps.registry.forgetTerminal(t.tid);
    const raw = await t.sale(p.card('6224242900000113'), 100, '123456');
    expect(raw.rc).toBe('77');
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);
  });

  // §5.1: what the host does not carry is answered 40, and a chip terminal's other post-settlement uploads 00
  it.each([
    ['sign-in with single-length keys (001)', '0810', '40', () => buildUnmaced({ 11: '000931', 60: '00000001001', 63: '01 ' }, '0800')],
    ['a BIN-table download (396)', '0810', '40', () => buildUnmaced({ 11: '000932', 60: '00000001396' }, '0800')],
    ['an offline sale notice (0220, 60.1 24)', '0230', '40', () => build({ ...saleFieldsWithoutPin('000933'), 22: '012', 60: '24000001000600' }, '0220')],
    ['a 0200 of type 36', '0210', '40', () => build({ ...saleFieldsWithoutPin('000934'), 22: '012', 60: '36000001000600' }, '0200')],
    ['a refund reversal (0420)', '0430', '40', () => build({ ...saleFieldsWithoutPin('000935'), 3: '200000', 22: '012', 60: '25000001000600' }, '0420')],
    ['a script result (0620)', '0630', '40', () => build({ ...saleFieldsWithoutPin('000936'), 22: '012', 60: '00000001951' }, '0620')],
    ['another 0320 (60.3 203)', '0330', '00', () => buildUnmaced({ 11: '000937', 48: '0000', 60: '00000001203' }, '0320')],
  ])('%s → %s %s', async (_what, mti, rc, frame) => {
    if (!p) return;
    const m = decode(await link.exchange(frame())).message;
    expect([m.mti, m.get(39)]).toEqual([mti, rc]);
    expect(m.has(64)).toBe(false); // raised before the MAC check, or not MAC-bearing (§5.3)
  });

  it('password-free settings changed between a terminal\'s 394 and its 395: the terminal is still asked to download (9)', async () => {
    if (!p) return;
    const management = (stan: string, code: string) => buildUnmaced({ 11: stan, 60: `00000001${code}` }, code === '301' ? '0820' : '0800');
    const download = decode(await link.exchange(management('000901', '394'))).message;
    expect(String((download.get(62) as Buffer).toString('latin1'))).toContain('FF9001004' + '0900');
    // the merchant moves the window while that terminal is between its two messages
    await p.platform.store.transact(async (trx) => {
      const m = (await merchantByMid(trx, '898310054110001'))!;
      await setPasswordFree(trx, m.id, { ...passwordFreeOf(m), windowStart: '0800' });
    });
    p.platform.host.deps.registry.forgetMerchant((await merchantByMid(p.platform.store.db, '898310054110001'))!.id);
    expect(decode(await link.exchange(management('000902', '395'))).message.get(39)).toBe('00');
    // the terminal holds the 09:00 window, so every answer keeps asking it to download again
    expect(decode(await link.exchange(management('000903', '301'))).header.processingRequest).toBe('9');
    expect(decode(await link.exchange(management('000904', '394'))).message.get(62)!.toString()).toContain('FF9001004' + '0800');
    expect(decode(await link.exchange(management('000905', '395'))).message.get(39)).toBe('00');
    expect(decode(await link.exchange(management('000906', '301'))).header.processingRequest).toBe('0');
  });
});
