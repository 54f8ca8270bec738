import { describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/index.js';
import { ENGINES } from '../support/stores.js';
import { platformFor } from '../support/platform.js';

const GOOD = '6224242900000113';

describe.each(ENGINES)('host on %s: requests that share a group transaction', (engine) => {
  const platform = platformFor(engine, { terminals: 6 });

  it('a retransmission in the same group as other sales on the same card gets the stored answer and charges once', async () => {
    const p = platform();
    if (!p) return;
    const { store, hsm } = p.platform;
    const terminals = [0, 1, 2, 3, 4, 5].map((i) => p.terminal(i));
    await Promise.all(terminals.map((t) => t.signIn()));
    const card = p.card(GOOD);
    const cardBalance = async () => (await store.db.selectFrom('cards').select('balance_fen').where('pan_hash', '=', hsm.panHash(GOOD)).executeTakeFirstOrThrow()).balance_fen;
    const before = await cardBalance();

    const request = terminals[0]!.saleRequest(card, 1_111, '123456');
    const first = await terminals[0]!.raw(request, true);
    expect(first?.message.get(39)).toBe('00');

    const stats = store.commitStats();
    const [again, ...others] = await Promise.all([terminals[0]!.raw(request, true), ...terminals.slice(1).map((t) => t.sale(card, 100, '123456'))]);
    const after = store.commitStats();
    expect(after.commits - stats.commits).toBeLessThan(after.units - stats.units); // some shared a transaction

    expect(again?.message.get(39)).toBe('00');
    expect(again?.message.get(37)).toBe(first?.message.get(37)); // the stored answer, same RRN
    expect(others.map((r) => r.rc)).toEqual(['00', '00', '00', '00', '00']);
    expect(await cardBalance()).toBe(before - 1_111 - 5 * 100);
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });
});
