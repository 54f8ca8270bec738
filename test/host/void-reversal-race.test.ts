import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cup, unpackCupFrame } from '../../src/iso8583/index.js';
import { verifyLedger } from '../../src/ledger/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { RawLink } from '../support/raw-link.js';
import { build, giveSpecKeys, saleFields } from '../support/spec-frames.js';
import { postgresReachable } from '../support/stores.js';

const rcOf = (frame: Buffer | null) => String(unpackCupFrame(cup, frame!, true).message.get(39));
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * On PostgreSQL two group transactions run at once under load. A void and a reversal of the same
 * sale, in two such groups, must not both give the money back: the second waits for the first's
 * COMMIT and sees the sale voided (or reversed).
 */
describe('host on postgres: a void and a reversal of one sale in two concurrent groups', () => {
  let p: TestPlatform | undefined;
  beforeAll(async () => {
    if (!(await postgresReachable())) return;
    p = await startTestPlatform('postgres');
    await p.terminal(1).signIn();
    await giveSpecKeys(p);
    // this terminal checks the supervisor password itself: no grant needed for the void
    await p.platform.store.db.updateTable('terminals').set({ supervisor_check: 'terminal' }).where('tid', '=', '30000001').execute();
    p.platform.host.deps.registry.forgetTerminal('30000001');
  });
  afterAll(async () => {
    await p?.close();
  });

  it('gives the money back once', async () => {
    if (!p) return;
    const store = p.platform.store;
    const balance = async () => (await store.db.selectFrom('cards').select('balance_fen').where('pan_hash', '=', p!.platform.hsm.panHash('6224242900000113')).executeTakeFirstOrThrow()).balance_fen;
    const [a, b] = await Promise.all([RawLink.open(p.platform.iso.port), RawLink.open(p.platform.iso.port)]);
    const before = await balance();
    const saleReply = unpackCupFrame(cup, (await a.exchange(build(saleFields('000801', 4_000))))!, true).message;
    expect(saleReply.get(39)).toBe('00');
    expect(await balance()).toBe(before - 4_000);

    const filler = (seconds = 0) => store.transact(async (trx) => void (await sql`select pg_sleep(${seconds})`.execute(trx)));
    const { 52: _pin, 26: _cap, 53: _sec, ...fields } = saleFields('000802', 4_000);
    const voidFrame = build({ ...fields, 3: '200000', 22: '012', 37: String(saleReply.get(37)), 38: String(saleReply.get(38)), 60: '23000001000600', 61: '000001000801' });
    const { 52: _p2, 26: _c2, 53: _s2, ...saleOnly } = saleFields('000801', 4_000);
    const reversalFrame = build({ ...saleOnly, 22: '012', 39: '98' }, '0400');

    // group 1 sleeps; the void waits behind it, then a sleeping unit, then 16 more units: that
    // starts group 2 beside it, which takes the void and sleeps holding it; the reversal, queued
    // next, goes in the group that follows group 1, while group 2 still sleeps
    const held = [filler(0.5)];
    await pause(100);
    const voided = a.exchange(voidFrame);
    await pause(100);
    held.push(filler(1));
    for (let i = 0; i < 16; i++) held.push(filler());
    await pause(100);
    const reversed = b.exchange(reversalFrame);
    const [voidRc, reversalRc] = [rcOf(await voided), rcOf(await reversed)];
    await Promise.all(held);
    a.close();
    b.close();
    expect(store.commitStats().concurrentMax).toBe(2);
    expect(voidRc).toBe('00');
    expect(reversalRc).toBe('00'); // §8.2: a voided original is answered 00, nothing changes
    expect(await balance()).toBe(before);
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });
});
