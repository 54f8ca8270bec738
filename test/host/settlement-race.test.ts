import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNTS, balanceOf, verifyLedger } from '../../src/ledger/index.js';
import { cup, unpackCupFrame } from '../../src/iso8583/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { RawLink } from '../support/raw-link.js';
import { build, giveSpecKeys, rcOf, saleFields, saleFieldsWithoutPin } from '../support/spec-frames.js';
import { ENGINES, postgresReachable } from '../support/stores.js';

const pause = (ms: number) => new Promise((r) => (ms === 0 ? setImmediate(r) : setTimeout(r, ms)));

/**
 * A terminal that does not wait for its settlement's answer before the next request, on a second
 * connection: a sale or reversal that reaches the host while its batch is being settled must land
 * before the settlement counts the batch, or be declined. Money moved in a closed batch would be in
 * no settlement's totals and stay in the merchant's pending balance for good.
 */
describe.each(ENGINES)('host on %s: requests racing the settlement of their batch', (engine) => {
  let p: TestPlatform | undefined;
  let links: RawLink[] = [];
  let batch = 1;
  let stan = 1000;
  const settlement = () => build({ 11: String(++stan).padStart(6, '0'), 41: '30000001', 42: '898310054110001', 48: '0'.repeat(62), 49: '156', 60: `00${String(batch).padStart(6, '0')}201`, 63: '001' }, '0500');
  const sale = () => build({ ...saleFields(String(++stan).padStart(6, '0'), 2_500), 60: `22${String(batch).padStart(6, '0')}000600` }, '0200');
  /** what the merchant's pending balance must be: minus the approved sales of the open batch, which no settlement has counted yet */
  const pendingIsTheOpenBatch = async () => {
    const db = p!.platform.store.db;
    const open = await db.selectFrom('terminals').select('open_batch').where('tid', '=', '30000001').executeTakeFirstOrThrow();
    const unsettled = await db.selectFrom('transactions').select((eb) => eb.fn.sum<number>('amount_fen').as('s')).where('batch', '=', open.open_batch).where('status', '=', 'approved').executeTakeFirst();
    expect((await balanceOf(db, ACCOUNTS.merchantPending(p!.platform.seeded!.merchantId))) + Number(unsettled?.s ?? 0)).toBe(0);
    expect((await verifyLedger(db)).ok).toBe(true);
  };

  beforeAll(async () => {
    if (engine === 'postgres' && !(await postgresReachable())) return;
    p = await startTestPlatform(engine);
    await p.terminal(1).signIn();
    await giveSpecKeys(p);
    links = await Promise.all([RawLink.open(p.platform.iso.port), RawLink.open(p.platform.iso.port)]);
  });
  afterAll(async () => {
    for (const link of links) link.close();
    await p?.close();
  });

  it('a sale sent while its batch is being settled is in that settlement or declined 77', async () => {
    if (!p) return;
    const [a, b] = links as [RawLink, RawLink];
    const answers = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const settled = b.exchange(settlement());
      await pause(i % 4);
      answers.add(rcOf(await a.exchange(sale())));
      expect(rcOf(await settled)).toBe('00');
      batch++;
    }
    expect([...answers].every((rc) => rc === '00' || rc === '77')).toBe(true);
    await pendingIsTheOpenBatch();
  });

  it('a sale queued just ahead of the settlement of its batch is in that settlement\'s totals', async () => {
    if (!p) return;
    const [a, b] = links as [RawLink, RawLink];
    // a unit that holds the committer for a moment, so that the sale and the settlement wait behind it together
    const held = p.platform.store.transact(() => pause(300));
    await pause(20);
    const sold = a.exchange(sale());
    await pause(50);
    const settled = b.exchange(settlement());
    await held;
    expect(rcOf(await sold)).toBe('00');
    const totals = String(unpackCupFrame(cup, (await settled)!, true).message.get(48));
    expect(totals.slice(0, 15)).toBe('000000002500001'); // the sale: 2,500 fen, 1 debit
    batch++;
    await pendingIsTheOpenBatch();
  });

  it('a reversal sent while its sale\'s batch is being settled is in that settlement or declined 12', async () => {
    if (!p) return;
    const [a, b] = links as [RawLink, RawLink];
    const answers = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const frame = sale();
      const saleStan = String(stan).padStart(6, '0');
      expect(rcOf(await a.exchange(frame))).toBe('00');
      // the sale's fields without its PIN (§8.1), reason 98
      const reversal = build({ ...saleFieldsWithoutPin(saleStan, 2_500), 22: '012', 39: '98', 60: `22${String(batch).padStart(6, '0')}000600` }, '0400');
      const settled = b.exchange(settlement());
      await pause(i % 4);
      answers.add(rcOf(await a.exchange(reversal)));
      expect(rcOf(await settled)).toBe('00');
      batch++;
    }
    expect([...answers].every((rc) => rc === '00' || rc === '12')).toBe(true);
    await pendingIsTheOpenBatch();
  });
});
