import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStorage, SoftTerminal } from '../../src/terminal/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { ENGINES, postgresReachable } from '../support/stores.js';
import { posgateBinaryAsync } from './run-cli.js';

const GOOD = '6224242900000113';
const MID = '898310058120002';
/** The TMK of protocol §6.2, as a key ceremony hands it over: two components, each custodian holding one. */
const TMK = 'CA5D92598DCA48CE8A4C76361A9269E9';
const COMPONENT_1 = '0123456789ABCDEFFEDCBA9876543210';
const COMPONENT_2 = Buffer.from(Buffer.from(TMK, 'hex').map((b, i) => b ^ Buffer.from(COMPONENT_1, 'hex')[i]!)).toString('hex').toUpperCase();

interface Added {
  tid: string;
  operators: { no: string; role: string; password: string }[];
}

describe.each(ENGINES)('posgate merchants and posgate terminals on %s: setting up a merchant\'s terminals on a running host', (engine) => {
  let p: TestPlatform;
  let admin: (args: string[], stdin?: string) => ReturnType<typeof posgateBinaryAsync>;
  let skip = false;
  beforeAll(async () => {
    if (engine === 'postgres' && !(await postgresReachable())) {
      skip = true;
      return;
    }
    p = await startTestPlatform(engine);
    admin = (args, stdin) => posgateBinaryAsync([...args, '--db', p.db, ...(args[1] === 'list' ? [] : ['--lmk-file', p.lmkFile])], stdin ?? '');
    expect((await admin(['merchants', 'add', '--mid', MID, '--name', '面馆 Noodle shop', '--fee-rate', '0.38'])).code).toBe(0);
  });
  afterAll(async () => p?.close());

  const terminal = (tid: string) => new SoftTerminal({ tid, mid: MID, endpoint: { host: '127.0.0.1', port: p.platform.iso.port }, storage: new MemoryStorage(), responseTimeoutMs: 5_000 });

  it('a posgate terminal: registered with its serial, activated with a one-time code, its cashier signs in with the password handed over, and it sells', async () => {
    if (skip) return;
    const added = await admin(['terminals', 'add', '--mid', MID, '--serial', 'NEWPOS-0001', '--supervisor-check', 'host', '--json']);
    expect(added.code).toBe(0);
    const { tid, operators } = added.json<Added>();
    expect(operators.map((o) => [o.no, o.password.length])).toEqual([['99', 8], ['00', 6], ['01', 4]]);
    const code = await admin(['terminals', 'activation-code', '--tid', tid, '--json']);
    expect(code.json()).toMatchObject({ tid, serial: 'NEWPOS-0001', activation_code: expect.stringMatching(/^\d{12}$/) });
    const activationCode = code.json<{ activation_code: string }>().activation_code;

    const t = terminal(tid);
    expect((await t.activate('NEWPOS-0002', activationCode)).rc).toBe('55'); // another device's serial
    expect((await t.activate('NEWPOS-0001', activationCode)).rc).toBe('00');
    expect((await t.signIn()).rc).toBe('00');
    expect(await t.signInOperator('01', operators.find((o) => o.no === '01')!.password)).toBe('00');
    const sale = await t.sale(p.card(GOOD), 880, '123456');
    expect(sale.rc).toBe('00');
    t.close();
    expect((await terminal(tid).activate('NEWPOS-0001', activationCode)).rc).toBe('55'); // used up

    const listed = (await admin(['terminals', 'list', '--mid', MID, '--json'])).json<{ tid: string; serial: string; signed_in: boolean; supervisor_check: string }[]>();
    expect(listed.find((x) => x.tid === tid)).toMatchObject({ serial: 'NEWPOS-0001', signed_in: true, supervisor_check: 'host' });
    // the software version the terminal's header carries (1.2.0), as the host recorded it at sign-in
    expect((await admin(['terminals', 'list'])).stdout).toMatch(new RegExp(`${tid}  ${MID}  NEWPOS-0001\\s+active\\s+signed in\\s+batch 000001  software 1\\.2\\.0  last seen 20`));
    const merchants = (await admin(['merchants', 'list'])).stdout;
    expect(merchants).toMatch(new RegExp(`${MID}\\s+active\\s+MCC 5411\\s+fee 0\\.38 %\\s+\\d terminal\\(s\\)\\s+面馆 Noodle shop`));
    // each step is in the audit log, under the person who took it, and the chain holds
    const audited = await p.platform.store.db.selectFrom('audit_events').select(['actor', 'action']).where('action', 'in', ['merchant.created', 'terminal.created', 'terminal.activation_code_issued']).execute();
    expect(audited.map((a) => a.action).sort()).toEqual(['merchant.created', 'terminal.activation_code_issued', 'terminal.created']);
    expect(audited.every((a) => a.actor.startsWith('cli:'))).toBe(true);
    expect((await admin(['audit', 'verify'])).stdout).toContain('audit log OK');
  });

  it('a third-party terminal: its TMK imported from two components and checked against its KCV; a wrong KCV changes nothing', async () => {
    if (skip) return;
    const { tid } = (await admin(['terminals', 'add', '--mid', MID, '--json'])).json<Added>();
    const wrong = await admin(['terminals', 'import-tmk', '--tid', tid, '--kcv', '000000'], `${COMPONENT_1}\n${COMPONENT_2}\n`);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('the key does not match its check value');
    const t = terminal(tid);
    t.injectTmk(TMK);
    expect((await t.signIn()).rc).toBe('97'); // no TMK at the host yet

    const imported = await admin(['terminals', 'import-tmk', '--tid', tid, '--kcv', '43C6CC'], `${COMPONENT_1}\n${COMPONENT_2}\n`);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain(`TMK installed for terminal ${tid} (KCV 43C6CC)`);
    expect(imported.stdout + imported.stderr).not.toContain(COMPONENT_2);
    expect((await t.signIn()).rc).toBe('00');
    expect((await t.sale(p.card(GOOD), 300, '123456')).rc).toBe('00'); // supervisor checks stay the terminal's own
    t.close();

    // the same component twice XORs to nothing; halves equal are a single-length key
    expect((await admin(['terminals', 'import-tmk', '--tid', tid, '--kcv', '43C6CC'], `${COMPONENT_1}\n${COMPONENT_1}\n`)).stderr).toContain('single-length');
    expect((await admin(['terminals', 'import-tmk', '--tid', tid, '--kcv', '43C6CC'], 'not a key\n')).stderr).toContain('each key component is 32 hex digits');
    const failures = await p.platform.store.db.selectFrom('audit_events').select(['outcome']).where('action', '=', 'terminal.tmk_import').orderBy('id').execute();
    expect(failures.map((f) => f.outcome)).toEqual(['failure', 'success']);
  });

  it('a locked or forgotten operator password is reset to a one-time one; a new cashier is added the same way', async () => {
    if (skip) return;
    const t = p.terminal(1); // demo terminal 30000002: cashier 01's password is 2580
    expect((await t.signIn()).rc).toBe('00');
    const tries = [];
    for (let i = 0; i < 5; i++) tries.push(await t.verifyOperator('01', '9999'));
    expect(tries).toEqual(['55', '55', '55', '55', '75']);
    expect(await t.verifyOperator('01', '2580')).toBe('75'); // locked, even with the right password

    const reset = await admin(['terminals', 'reset-operator', '--tid', '30000002', '--operator', '01', '--json']);
    expect(reset.json()).toMatchObject({ tid: '30000002', operator: '01', role: 'cashier', created: false, password: expect.stringMatching(/^\d{4}$/) });
    const password = reset.json<{ password: string }>().password;
    expect(await t.verifyOperator('01', '2580')).toBe('55'); // the old password is gone
    expect(await t.signInOperator('01', password)).toBe('00');
    // it is the old one that may not come back (§10.3)
    expect(await t.changeOperatorPassword('01', password, '2580')).toBe('12');

    const added = await admin(['terminals', 'reset-operator', '--tid', '30000002', '--operator', '05']);
    expect(added.stdout).toMatch(/new operator 05 \(cashier\) of terminal 30000002: one-time password \d{4}/);
    expect(await t.signInOperator('05', /password (\d{4})/.exec(added.stdout)![1]!)).toBe('00');
    const audited = await p.platform.store.db.selectFrom('audit_events').select(['action', 'subject']).where('action', 'in', ['operator.password_reset', 'operator.created']).orderBy('id').execute();
    expect(audited).toEqual([
      { action: 'operator.password_reset', subject: 'operator:30000002:01' },
      { action: 'operator.created', subject: 'operator:30000002:05' },
    ]);
    expect(reset.stdout + added.stdout).not.toContain('2580');
  });

  it('a lost terminal is disabled: answered 97 and its keys destroyed, until it is enabled and signs in again', async () => {
    if (skip) return;
    const t = p.terminal(0); // demo terminal 30000001
    expect((await t.signIn()).rc).toBe('00');
    expect((await admin(['terminals', 'disable', '--tid', '30000001', '--reason', 'reported stolen'])).stdout).toContain('terminal 30000001 disabled');
    expect((await t.signIn()).rc).toBe('97');
    const row = await p.platform.store.db.selectFrom('terminals').select(['status', 'pik', 'mak']).where('tid', '=', '30000001').executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'disabled', pik: null, mak: null });
    expect((await admin(['terminals', 'list', '--json'])).json<{ tid: string; status: string }[]>().find((x) => x.tid === '30000001')).toMatchObject({ status: 'disabled' });
    expect((await admin(['terminals', 'enable', '--tid', '30000001'])).code).toBe(0);
    expect((await t.signIn()).rc).toBe('00');
    expect((await t.sale(p.card(GOOD), 100, '123456')).rc).toBe('00');
    const audited = await p.platform.store.db.selectFrom('audit_events').select(['action', 'detail']).where('action', 'in', ['terminal.disabled', 'terminal.enabled']).orderBy('id').execute();
    expect(audited.map((a) => a.action)).toEqual(['terminal.disabled', 'terminal.enabled']);
    expect(audited[0]!.detail).toContain('reported stolen');
  });

  it('working keys rotated on demand: the terminal is asked to sign in again in its next answer, and does before its next sale', async () => {
    if (skip) return;
    const t = p.terminal(0); // demo terminal 30000001, signed in
    const keys = () => p.platform.store.db.selectFrom('terminals').select(['pik', 'mak', 'sign_in_required']).where('tid', '=', '30000001').executeTakeFirstOrThrow();
    const before = await keys();
    expect((await admin(['terminals', 'rotate-keys', '--tid', '30000001'])).stdout).toContain('1 terminal(s) asked to sign in again for new working keys: 30000001');
    await t.downloadPasswordFreeParameters(); // any answer carries processing request 3 now
    expect((await t.sale(p.card(GOOD), 100, '123456')).rc).toBe('00');
    const after = await keys();
    expect(after.sign_in_required).toBe(0);
    expect(after.pik).not.toEqual(before.pik);
    expect(after.mak).not.toEqual(before.mak);
    const none = await admin(['terminals', 'rotate-keys']);
    expect([none.code, none.stderr.trim()]).toEqual([2, 'posgate: give one of --tid, --mid or --all']);
  });

  it('the merchant\'s password-free rules changed from the command line reach its terminals: a lower limit asks for the PIN above it', async () => {
    if (skip) return;
    const DEMO_MID = '898310054110001';
    const TAP = '6258070000000801'; // a credit card that may pay without a PIN
    const t = p.terminal(1);
    expect((await t.signIn()).rc).toBe('00');
    expect((await t.downloadPasswordFreeParameters()).FF8058).toBe('000000100000'); // ¥1,000, the default
    const shown = await admin(['merchants', 'password-free', '--mid', DEMO_MID]);
    expect(shown.stdout).toContain('on, up to RMB 1,000.00 a payment, 09:00–22:00');

    const changed = await admin(['merchants', 'password-free', '--mid', DEMO_MID, '--limit', '50.00', '--window', '0000-0000']);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toContain(`password-free payments of merchant ${DEMO_MID} (changed: its terminals download them again)`);
    expect(changed.stdout).toContain('on, up to RMB 50.00 a payment, all day');
    // the terminal's next answer asks it to download (9), which it does before its next sale
    expect((await t.signIn()).rc).toBe('00');
    const over = await t.sale(p.card(TAP, 'tap'), 6_000);
    expect(t.passwordFreeParameters?.FF8058).toBe('000000005000');
    expect(over.rc).toBe('55');
    const under = await t.sale(p.card(TAP, 'tap'), 4_000);
    expect(under).toMatchObject({ rc: '00', passwordFree: true });

    for (const [args, message] of [
      [['--limit', '0'], 'the no-PIN limit is a positive amount'],
      [['--window', '2500-0100'], 'the window is two times of day'],
      [['--modes', '05'], 'the entry modes are some of 07, 98, 03, 91, 96'],
      [['--bin-blacklist', '62'], 'a blacklisted BIN is 6 to 10 digits'],
    ] as const) {
      const r = await admin(['merchants', 'password-free', '--mid', DEMO_MID, ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(message);
    }
    expect((await admin(['merchants', 'password-free', '--mid', DEMO_MID, '--json'])).json()).toMatchObject({ maxAmountFen: 5_000, windowStart: '0000', windowEnd: '0000' });
    const audited = await p.platform.store.db.selectFrom('audit_events').select(['detail']).where('action', '=', 'merchant.password_free_changed').execute();
    expect(audited.map((a) => JSON.parse(a.detail ?? '{}') as unknown)).toEqual([{ maxAmountFen: 5_000, windowStart: '0000', windowEnd: '0000' }]);
  });

  it('refuses what cannot be right, with a clear message and exit code 2', async () => {
    if (skip) return;
    const cases: [string[], string][] = [
      [['merchants', 'add', '--mid', '89831005812', '--name', 'x'], 'a merchant ID is 15 letters or digits'],
      [['merchants', 'add', '--mid', MID, '--name', 'again'], `merchant ${MID} already exists`],
      [['merchants', 'add', '--mid', '898310058120003', '--name', 'x', '--fee-rate', '12'], '--fee-rate is a percentage from 0 to 10'],
      [['merchants', 'add', '--mid', '898310058120003', '--name', 'x', '--timezone', 'Mars/Olympus'], 'is not a time zone'],
      [['terminals', 'add', '--mid', '898310058129999'], 'no merchant 898310058129999'],
      [['terminals', 'add', '--mid', MID, '--tid', '30000001'], 'terminal 30000001 already exists'],
      [['terminals', 'add', '--mid', MID, '--tid', '3000'], 'a terminal ID is 8 digits'],
      [['terminals', 'activation-code', '--tid', '39999999'], 'no terminal 39999999'],
      [['terminals', 'import-tmk', '--tid', '30000001', '--kcv', 'XYZ'], 'a KCV is 6 or 8 hex digits'],
      [['terminals', 'reset-operator', '--tid', '30000001', '--operator', '1'], 'an operator number is 2 digits'],
    ];
    for (const [args, message] of cases) {
      const r = await admin(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(message);
    }
    // without the LMK nothing is written: codes and passwords are hashed under it
    const noLmk = await posgateBinaryAsync(['terminals', 'activation-code', '--tid', '30000001', '--db', p.db, '--lmk-file', '/nonexistent/lmk.key'], '');
    expect(noLmk.code).toBe(2);
  });
});
