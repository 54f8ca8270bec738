import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminalByTid } from '../../src/merchants/index.js';
import { issueCode } from '../support/activation.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { RawLink } from '../support/raw-link.js';
import { build, giveSpecKeys, hex, pinBlock, rcOf } from '../support/spec-frames.js';
import { ENGINES, postgresReachable } from '../support/stores.js';

const TID = '30000001';

/** A 902 operator verification (§10.2) of terminal 30000001: the password block's account is 0000 ‖ TID. */
const verify = (stan: number, operator: string, password: string) =>
  build({ 11: String(stan).padStart(6, '0'), 41: TID, 42: '898310054110001', 52: pinBlock(password, `0000${TID}0`), 53: '2600000000000000', 60: '00000001902', 63: `${operator} ` }, '0820');

/** A 903 operator password change (§10.3) of terminal 30000001: old password in 52, new one in 62. */
const change = (stan: number, operator: string, old: string, next: string) =>
  build({ 11: String(stan).padStart(6, '0'), 41: TID, 42: '898310054110001', 52: pinBlock(old, `0000${TID}0`), 53: '2600000000000000', 60: '00000001903', 62: pinBlock(next, `0000${TID}0`), 63: `${operator} ` }, '0820');

/**
 * Guessing in parallel: many tries at once, each on a connection of its own, must not check more
 * passwords than the lockout allows, nor undo the lock they reached (protocol §10.2: 5 wrong → 75).
 */
describe.each(ENGINES)('host on %s: tries at a password made all at once', (engine) => {
  let p: TestPlatform | undefined;
  beforeAll(async () => {
    if (engine === 'postgres' && !(await postgresReachable())) return;
    p = await startTestPlatform(engine, { terminals: 3 });
    await p.terminal(1).signIn();
    await giveSpecKeys(p);
  });
  afterAll(async () => {
    await p?.close();
  });

  it('the worked example\'s password block is what this test builds', () => {
    expect(pinBlock('123456', `0000${TID}0`)).toEqual(hex('DFB27320502A595C'));
  });

  it('12 wrong cashier passwords at once: at most 5 are checked, the cashier ends locked, the right password is then refused', async () => {
    if (!p) return;
    const links = await Promise.all(Array.from({ length: 12 }, () => RawLink.open(p!.platform.iso.port)));
    const answers = await Promise.all(links.map((link, i) => link.exchange(verify(9000 + i, '01', String(1000 + i)))));
    const codes = answers.map(rcOf);
    // 55 for a checked wrong password, 75 for the one that reached the limit and for every try refused unchecked
    expect(codes.filter((c) => c === '55').length).toBeLessThanOrEqual(4);
    expect(codes.every((c) => c === '55' || c === '75')).toBe(true);
    expect(rcOf(await links[0]!.exchange(verify(9100, '01', '2580')))).toBe('75');
    for (const link of links) link.close();
    const checked = await p.platform.store.db.selectFrom('audit_events').select('detail').where('action', '=', 'operator.verify').where('outcome', '=', 'failure').execute();
    expect(checked.filter((e) => JSON.parse(e.detail).reason === 'wrong_password').length).toBe(5);
  });

  it('two password changes from the same old password at once: one is made, the other gets 55', async () => {
    if (!p) return;
    const links = await Promise.all([RawLink.open(p.platform.iso.port), RawLink.open(p.platform.iso.port)]);
    const codes = (await Promise.all([links[0]!.exchange(change(9200, '02', '1397', '5820')), links[1]!.exchange(change(9201, '02', '1397', '6031'))])).map(rcOf);
    expect([...codes].sort()).toEqual(['00', '55']);
    const [made, lost] = codes[0] === '00' ? ['5820', '6031'] : ['6031', '5820'];
    expect(rcOf(await links[0]!.exchange(verify(9202, '02', made)))).toBe('00');
    expect(rcOf(await links[0]!.exchange(verify(9203, '02', lost)))).toBe('55');
    for (const link of links) link.close();
  });

  it('8 wrong activation codes at once: at most 5 are checked, and the right code is then refused', async () => {
    if (!p) return;
    const { store, hsm } = p.platform;
    const terminal = (await terminalByTid(store.db, p.info.terminals[2]!.tid))!;
    const code = await issueCode(store, hsm, terminal.id, 'PGSIM-0003');
    const wrong = (i: number) => String((Number(code) + 1 + i) % 1e12).padStart(12, '0');
    // each try from a terminal object (and connection) of its own
    const codes = (await Promise.all(Array.from({ length: 8 }, (_, i) => p!.terminal(2, { responseTimeoutMs: 10_000 }).activate('PGSIM-0003', wrong(i))))).map((r) => r.rc);
    expect(codes.filter((c) => c === '55').length).toBeLessThanOrEqual(4);
    expect(codes.every((c) => c === '55' || c === '75')).toBe(true);
    expect((await p.terminal(2, { responseTimeoutMs: 10_000 }).activate('PGSIM-0003', code)).rc).toBe('75');
  });

  it('the right activation code sent three times at once activates once: the code is single-use (§10.1), the others get 55', async () => {
    if (!p) return;
    const { store, hsm } = p.platform;
    const tid = p.info.terminals[0]!.tid;
    const terminal = (await terminalByTid(store.db, tid))!;
    const code = await issueCode(store, hsm, terminal.id, 'PGSIM-0001');
    const installers = Array.from({ length: 3 }, () => p!.terminal(0, { responseTimeoutMs: 10_000 }));
    const results = await Promise.all(installers.map((t) => t.activate('PGSIM-0001', code)));
    expect(results.map((r) => r.rc).sort()).toEqual(['00', '55', '55']);
    // the TMK the host keeps is the one the winner received, and the winner signs in with it
    const winner = installers[results.findIndex((r) => r.rc === '00')]!;
    expect(await hsm.keyCheckValue((await terminalByTid(store.db, tid))!.tmk!, { length: 4 })).toBe(results.find((r) => r.rc === '00')!.tmkKcv);
    expect((await winner.signIn()).rc).toBe('00');
    const successes = await store.db.selectFrom('audit_events').select('outcome').where('action', '=', 'terminal.activation').where('subject', '=', terminal.id).where('outcome', '=', 'success').execute();
    expect(successes).toHaveLength(1);
  });
});
