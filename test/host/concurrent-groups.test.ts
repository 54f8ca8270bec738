import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cup, unpackCupFrame, type IsoMessage } from '../../src/iso8583/index.js';
import { demoChipCard } from '../../src/demo/seed.js';
import { verifyLedger } from '../../src/ledger/index.js';
import { merchantByMid, passwordFreeOf, setPasswordFree } from '../../src/merchants/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { RawLink } from '../support/raw-link.js';
import { build, giveSpecKeys, rcOf, saleFields, saleFieldsWithoutPin } from '../support/spec-frames.js';
import { postgresReachable } from '../support/stores.js';

const GOOD = '6224242900000113';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * On PostgreSQL two group transactions run at once under load. Two requests that act on the same
 * row, each in one of two such groups, must not both act: the second waits for the first's COMMIT
 * and sees what it did. Each case lines the race up with sleeping units that hold the groups open.
 */
describe('host on postgres: two requests on one row in two concurrent groups', () => {
  let p: TestPlatform | undefined;
  let a: RawLink;
  let b: RawLink;
  beforeAll(async () => {
    if (!(await postgresReachable())) return;
    p = await startTestPlatform('postgres');
    await p.terminal(1).signIn();
    await giveSpecKeys(p);
    [a, b] = await Promise.all([RawLink.open(p.platform.iso.port), RawLink.open(p.platform.iso.port)]);
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    await p?.close();
  });

  const balance = async () => (await p!.platform.store.db.selectFrom('cards').select('balance_fen').where('pan_hash', '=', p!.platform.hsm.panHash(GOOD)).executeTakeFirstOrThrow()).balance_fen;
  const sale = async (stan: string, amount: number): Promise<IsoMessage> => {
    const reply = unpackCupFrame(cup, (await a.exchange(build(saleFields(stan, amount))))!, true).message;
    expect(reply.get(39)).toBe('00');
    return reply;
  };
  const supervisorCheck = async (where: 'host' | 'terminal') => {
    await p!.platform.store.db.updateTable('terminals').set({ supervisor_check: where }).where('tid', '=', '30000001').execute();
    p!.platform.host.deps.registry.forgetTerminal('30000001');
  };

  /**
   * `first` goes into a group that then sleeps holding what it locked; `second` into a group that
   * runs beside it meanwhile. Their response codes.
   */
  async function inTwoGroups(first: Buffer, second: Buffer): Promise<[string, string]> {
    const store = p!.platform.store;
    const unit = (seconds = 0) => store.transact(async (trx) => void (await sql`select pg_sleep(${seconds})`.execute(trx)));
    // group 1 sleeps; `first` waits behind it, then a sleeping unit and 16 more: those start group 2
    // beside group 1, which takes `first` and sleeps; `second`, queued next, goes into the group
    // that follows group 1, while group 2 still sleeps
    const held = [unit(0.5)];
    await pause(100);
    const one = a.exchange(first);
    await pause(100);
    held.push(unit(1));
    for (let i = 0; i < 16; i++) held.push(unit());
    await pause(100);
    const two = b.exchange(second);
    const codes: [string, string] = [rcOf(await one), rcOf(await two)];
    await Promise.all(held);
    expect(store.commitStats().concurrentMax).toBe(2);
    return codes;
  }

  it('a void and a reversal of one sale give the money back once', async () => {
    if (!p) return;
    await supervisorCheck('terminal');
    const before = await balance();
    const original = await sale('000801', 4_000);
    const voidFrame = build({ ...saleFieldsWithoutPin('000802', 4_000), 3: '200000', 22: '012', 37: String(original.get(37)), 38: String(original.get(38)), 60: '23000001000600', 61: '000001000801' });
    const reversal = build({ ...saleFieldsWithoutPin('000801', 4_000), 22: '012', 39: '98' }, '0400');
    // §8.2: a reversal of a voided original is answered 00, and nothing changes
    expect(await inTwoGroups(voidFrame, reversal)).toEqual(['00', '00']);
    expect(await balance()).toBe(before);
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);
  });

  it('one supervisor grant lets one void through, not two', async () => {
    if (!p) return;
    await supervisorCheck('host');
    const before = await balance();
    const [s1, s2] = [await sale('000811', 1_000), await sale('000812', 2_000)];
    await p.platform.store.db.insertInto('supervisor_grants').values({ terminal_id: (await p.platform.store.db.selectFrom('terminals').select('id').where('tid', '=', '30000001').executeTakeFirstOrThrow()).id, expires_at: Date.now() + 60_000 }).execute();
    const voidOf = (s: IsoMessage, stan: string, originalStan: string, amount: number) =>
      build({ ...saleFieldsWithoutPin(stan, amount), 3: '200000', 22: '012', 37: String(s.get(37)), 38: String(s.get(38)), 60: '23000001000600', 61: `000001${originalStan}` });
    const [first, second] = await inTwoGroups(voidOf(s1, '000813', '000811', 1_000), voidOf(s2, '000814', '000812', 2_000));
    expect([first, second].sort()).toEqual(['00', '63']);
    expect(await balance()).toBe(before - (first === '00' ? 2_000 : 1_000));
    expect((await verifyLedger(p.platform.store.db)).ok).toBe(true);
  });

  it('two password-free taps of one card at once stay within its daily count: one 00, one 55 (PIN needed)', async () => {
    if (!p) return;
    const credit = '6258070000000801';
    await p.platform.store.transact(async (trx) => {
      const m = (await merchantByMid(trx, '898310054110001'))!;
      await setPasswordFree(trx, m.id, { ...passwordFreeOf(m), windowStart: '0000', windowEnd: '0000', dailyCount: 1 });
    });
    p.platform.host.deps.registry.forgetMerchant((await merchantByMid(p.platform.store.db, '898310054110001'))!.id);
    const chip = demoChipCard(credit);
    const tap = (stan: string, amount: number) =>
      build({ 2: credit, 3: '000000', 4: String(amount).padStart(12, '0'), 11: stan, 14: '2812', 22: '072', 23: chip.cardSequence, 25: '00', 41: '30000001', 42: '898310054110001', 49: '156', 55: chip.generateArqc({ amountFen: amount, type: '00' }), 60: '22000001000600' });
    const codes = await inTwoGroups(tap('000821', 300), tap('000822', 400));
    expect(codes.sort()).toEqual(['00', '55']);
    const free = await p.platform.store.db.selectFrom('transactions').select((eb) => eb.fn.countAll<string>().as('n')).where('password_free', '=', 1).where('response_code', '=', '00').executeTakeFirstOrThrow();
    expect(Number(free.n)).toBe(1);
  });
});
