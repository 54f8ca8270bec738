import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeClearPinBlock, pinBlockAccount, tdesEcb } from '../../src/crypto/index.js';
import { lmkFromBytes, SoftwareHsm, type PinInput } from '../../src/hsm/index.js';
import { IssuerSimulator } from '../../src/issuer/index.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { ENGINES, openTestStore, postgresReachable, type TestStore } from '../support/stores.js';

const PAN = '6224242900000113';
const PIK = Buffer.from('807A23AD32B36D457AE91FDF927570EA', 'hex');

describe.each(ENGINES)('issuer simulator on %s: cards read ahead for a group transaction', (engine) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  /** A store, the simulator, one debit card with ¥100.00 and PIN 123456, and a committer that puts all units in one group and reads ahead. */
  async function setup() {
    if (engine === 'postgres' && !(await postgresReachable())) return undefined;
    store = await openTestStore(engine);
    const s = store;
    const hsm = new SoftwareHsm(lmkFromBytes(randomBytes(32)));
    const pvk = await hsm.generateKey({ algorithm: 'tdes', length: 16, usage: 'pvk' });
    const pik = await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, PIK);
    const issuer = new IssuerSimulator(hsm, pvk.key, engine);
    const id = await s.transact((trx) => issuer.issueCard(trx, { pan: PAN, expiry: '2812', serviceCode: '101', kind: 'debit', status: 'active', balanceFen: 10_000, creditLimitFen: 0, pin: '123456' }));
    const group = new GroupCommitter(s.db, { roundTrips: true });
    const hash = hsm.panHash(PAN);
    const hint = [{ read: issuer.cardRead, key: hash }];
    const pinInput = (pin: string): PinInput => ({ pan: PAN, block: tdesEcb(PIK).encrypt(encodeClearPinBlock(0, pin, pinBlockAccount(PAN))), under: { key: pik.key, format: 0 } });
    const balance = async () => (await s.db.selectFrom('cards').select('balance_fen').where('id', '=', id).executeTakeFirstOrThrow()).balance_fen;
    return { issuer, id, hash, group, hint, pinInput, balance, hashOf: (pan: string) => hsm.panHash(pan) };
  }

  it('a unit that changes a card first leaves the others nothing stale: no money is lost between units', async () => {
    const t = await setup();
    if (!t) return;
    const { issuer, group, hint, hash, id } = t;
    const results = await Promise.all([
      group.run(async (trx) => issuer.credit(trx, (await issuer.cardById(trx, id))!, 700)),
      group.run(async (trx) => issuer.authorize(trx, (await issuer.findCard(trx, hash))!, { kind: 'purchase', amountFen: 300 }), hint),
      group.run(async (trx) => issuer.authorize(trx, (await issuer.findCard(trx, hash))!, { kind: 'purchase', amountFen: 200 }), hint),
    ]);
    expect(results.slice(1).map((r) => r && r.approved)).toEqual([true, true]);
    expect(await t.balance()).toBe(10_000 + 700 - 300 - 200);
    expect(group.stats()).toMatchObject({ commits: 1, units: 3 });
  });

  it('changes to several cards in one group are all written at COMMIT', async () => {
    const t = await setup();
    if (!t) return;
    const { issuer, group, hint, hash } = t;
    const other = '6258070000000801';
    const otherId = await group.run((trx) => issuer.issueCard(trx, { pan: other, expiry: '2812', serviceCode: '101', kind: 'credit', status: 'active', balanceFen: 0, creditLimitFen: 50_000, pin: '888888' }));
    const otherHint = [{ read: issuer.cardRead, key: t.hashOf(other) }];
    await Promise.all([
      group.run(async (trx) => issuer.authorize(trx, (await issuer.findCard(trx, hash))!, { kind: 'purchase', amountFen: 1_000 }), hint),
      group.run(async (trx) => issuer.authorize(trx, (await issuer.findCard(trx, t.hashOf(other)))!, { kind: 'purchase', amountFen: 2_500 }), otherHint),
      group.run(async (trx) => issuer.authorize(trx, (await issuer.findCard(trx, t.hashOf(other)))!, { kind: 'preauth', amountFen: 500 }), otherHint),
    ]);
    expect(await t.balance()).toBe(9_000);
    const row = await store!.db.selectFrom('cards').select(['balance_fen', 'held_fen']).where('id', '=', otherId).executeTakeFirstOrThrow();
    expect(row).toEqual({ balance_fen: 2_500, held_fen: 500 }); // credit: the amount owed, and the hold
  });

  it('wrong PINs in one group count one try each: 55, 55, then 75', async () => {
    const t = await setup();
    if (!t) return;
    const { issuer, group, hint, hash, pinInput } = t;
    const attempt = () => group.run(async (trx) => issuer.verifyPin(trx, (await issuer.findCard(trx, hash))!, pinInput('000000'), '2026-11-22'), hint);
    expect(await Promise.all([attempt(), attempt(), attempt()])).toEqual(['wrong', 'wrong', 'exceeded']);
    expect(group.stats().commits).toBe(1);
    const right = await group.run(async (trx) => issuer.verifyPin(trx, (await issuer.findCard(trx, hash))!, pinInput('123456'), '2026-11-22'));
    expect(right).toBe('exceeded');
  });
});
