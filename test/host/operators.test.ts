import { Algorithm, hash as argon2Hash } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/index.js';
import { terminalByTid } from '../../src/merchants/index.js';
import { issueCode } from '../support/activation.js';
import { ENGINES } from '../support/stores.js';
import { platformFor, type TestPlatform } from '../support/platform.js';

/** Demo terminal `index`, signed in, and its row's id, to read and set its operators' rows. */
async function signedIn(p: TestPlatform, index: number) {
  const t = p.terminal(index);
  await t.signIn();
  const { db } = p.platform.store;
  const terminalId = (await db.selectFrom('terminals').select('id').where('tid', '=', t.tid).executeTakeFirstOrThrow()).id;
  return { t, db, terminalId };
}

describe.each(ENGINES)('host on %s: operators and activation', (engine) => {
  const platform = platformFor(engine, { terminals: 3 });

  it('locks an operator at the fifth wrong password (75), refuses even the right one while locked', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(0);
    await t.signIn();
    expect(await t.verifyOperator('01', '2580')).toBe('00');
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await t.verifyOperator('01', '9999'));
    expect(answers).toEqual(['55', '55', '55', '55', '75']);
    expect(await t.verifyOperator('01', '2580')).toBe('75');
    expect(await t.verifyOperator('77', '2580')).toBe('55'); // unknown operator: same answer as a wrong password
    const events = await p.platform.store.db.selectFrom('audit_events').select(['action', 'outcome']).where('action', '=', 'operator.verify').execute();
    expect(events.filter((e) => e.outcome === 'failure').length).toBeGreaterThanOrEqual(7);
    expect(await verifyAuditChain(p.platform.store.db, p.platform.hsm)).toMatchObject({ ok: true });
  });

  it('each lock in a row lasts twice the one before (30, 60, 120 minutes …); a right password starts again at 30', async () => {
    const p = platform();
    if (!p) return;
    const { t, db, terminalId } = await signedIn(p, 1);
    /** five wrong passwords for cashier 02: the minutes its lock then lasts */
    const lockFor = async (): Promise<number> => {
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await t.verifyOperator('02', '8642'));
      expect(answers).toEqual(['55', '55', '55', '55', '75']);
      const { locked_until: until } = await db.selectFrom('operators').select('locked_until').where('terminal_id', '=', terminalId).where('no', '=', '02').executeTakeFirstOrThrow();
      return Math.round((Number(until) - Date.now()) / 60_000);
    };
    /** the lock runs out (as if its time had passed) */
    const waitOut = () => db.updateTable('operators').set({ locked_until: Date.now() - 1 }).where('terminal_id', '=', terminalId).where('no', '=', '02').execute();
    const minutes = [];
    for (let i = 0; i < 7; i++) {
      minutes.push(await lockFor());
      expect(await t.verifyOperator('02', '1397')).toBe('75'); // locked: even the right password is refused
      await waitOut();
    }
    expect(minutes).toEqual([30, 60, 120, 240, 480, 960, 1440]);
    expect(await lockFor()).toBe(1440); // a day at most
    await waitOut();
    expect(await t.verifyOperator('02', '1397')).toBe('00');
    expect(await lockFor()).toBe(30);
    await waitOut();
  });

  it('a right old password ends the count of wrong ones, even when the new one breaks the rules (12)', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(0);
    await t.signIn();
    for (let i = 0; i < 4; i++) expect(await t.verifyOperator('02', '0000')).toBe('55');
    // the fifth try: the right old password, a new one that is a run
    expect(await t.changeOperatorPassword('02', '1397', '1234')).toBe('12');
    expect(await t.verifyOperator('02', '1397')).toBe('00');
  });

  it('replaces a password hash made before keying with a keyed one at the first right password', async () => {
    const p = platform();
    if (!p) return;
    const { t, db, terminalId } = await signedIn(p, 2);
    const operator = db.selectFrom('operators').where('terminal_id', '=', terminalId).where('no', '=', '01');
    // as an older posgate stored it: plain argon2id, which a copy of the database lets anyone guess at
    const legacy = await argon2Hash('2580', { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    await db.updateTable('operators').set({ password_hash: legacy }).where('terminal_id', '=', terminalId).where('no', '=', '01').execute();
    expect(await t.verifyOperator('01', '1111')).toBe('55');
    expect((await operator.select('password_hash').executeTakeFirstOrThrow()).password_hash).toBe(legacy);
    expect(await t.verifyOperator('01', '2580')).toBe('00');
    const stored = (await operator.select('password_hash').executeTakeFirstOrThrow()).password_hash;
    expect(stored.startsWith('k1$')).toBe(true);
    expect(await p.platform.hsm.verifyPassword('2580', stored)).toBe(true);
    expect(await t.verifyOperator('01', '2580')).toBe('00');
    expect(await t.verifyOperator('01', '2581')).toBe('55');
  });

  it('changes an operator password only to one that follows the rules (12 otherwise)', async () => {
    const p = platform();
    if (!p) return;
    const t = p.terminal(1);
    await t.signIn();
    expect(await t.changeOperatorPassword('00', '315926', '123456')).toBe('12'); // a run
    expect(await t.changeOperatorPassword('00', '315926', '7402')).toBe('12'); // wrong length
    expect(await t.changeOperatorPassword('00', '315926', '315926')).toBe('12'); // the current one
    expect(await t.changeOperatorPassword('00', '000000', '740285')).toBe('55'); // wrong old password
    expect(await t.changeOperatorPassword('00', '315926', '740285')).toBe('00');
    expect(await t.verifyOperator('00', '740285')).toBe('00');
    expect(await t.verifyOperator('00', '315926')).toBe('55');
    expect(await t.changeOperatorPassword('00', '740285', '315926')).toBe('12'); // one of the previous 3
  });

  it('activates a terminal with a one-time code: the TMK arrives over ECDH, then sign-in works', async () => {
    const p = platform();
    if (!p) return;
    const { store, hsm } = p.platform;
    const tid = p.info.terminals[2]!.tid;
    const terminal = (await terminalByTid(store.db, tid))!;
    const code = await issueCode(store, hsm, terminal.id, 'PGSIM-0003');
    const t = p.terminal(2);
    const wrong = await t.activate('PGSIM-0003', code === '000000000000' ? '000000000001' : '000000000000');
    expect(wrong.rc).toBe('55');
    const wrongSerial = await t.activate('PGSIM-9999', code);
    expect(wrongSerial.rc).toBe('55');
    const ok = await t.activate('PGSIM-0003', code);
    expect(ok.rc).toBe('00');
    expect(ok.tmkKcv).toMatch(/^[0-9A-F]{8}$/);
    expect(await hsm.keyCheckValue((await terminalByTid(store.db, tid))!.tmk!, { length: 4 })).toBe(ok.tmkKcv);
    const again = await t.activate('PGSIM-0003', code);
    expect(again.rc).toBe('55'); // single use
    const signIn = await t.signIn();
    expect(signIn.rc).toBe('00');
    expect((await t.sale(p.card('6224242900000113'), 100, '123456')).rc).toBe('00');
  });
});
