import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTime } from '../../src/host/clock.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { posgateBinaryAsync } from './run-cli.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** `posgate terminal --demo N` on the test host, `input` typed at its menus: its exit code and all it printed. */
async function terminal(port: number, state: string, input: string, demo = 2, extra: string[] = []): Promise<{ code: number; out: string }> {
  const r = await posgateBinaryAsync(['terminal', '--demo', String(demo), '--port', String(port), '--state', state, ...extra], input);
  return { code: r.code, out: r.stdout + r.stderr };
}

describe('posgate terminal (the CLI POS)', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
  });
  afterAll(async () => p.close());

  it('signs in, sells with a PIN, prints both receipt copies, voids with the supervisor, settles', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'posgate-term-')), 't.json');
    const { code, out } = await terminal(p.platform.iso.port, state, ['1', '01', '2580', '2', '12.34', '1', 's', '123456', '3', '315926', '000005', '2', '1.00', '2', 's', '123456', '7', '0', ''].join('\n'));
    expect(code).toBe(0);
    expect(out).toContain('签到成功 signed in, batch 000001, 操作员 operator 01');
    expect(out).toContain('操作员 01  已签到 signed in');
    expect(out).toContain('交易成功 APPROVED');
    expect(out).toContain('622424******0113');
    expect(out).toContain('商户存根 MERCHANT COPY');
    expect(out).toContain('持卡人存根 CARDHOLDER COPY');
    expect(out).toContain('消费撤销 VOID');
    expect(out).toContain('交易失败 DECLINED  51 余额不足 insufficient funds');
    expect(out).toContain('结算完成 settled batch 000001: 对账平 balanced');
    expect(out).not.toContain('123456\n'); // PINs are read, never echoed back
  });

  it('reads a demo card\'s chip: approved with the issuer\'s answer checked, in one session and the next', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'posgate-term-'));
    const state = join(dir, 't.json');
    const first = await terminal(p.platform.iso.port, state, ['1', '', '2580', '2', '5.00', '1', 'c', '123456', '0', ''].join('\n'));
    expect(first.out).toContain('交易成功 APPROVED');
    expect(first.out).toContain('插卡 chip');
    expect(first.out).not.toContain('Issuer authentication failed');
    expect(first.out).toContain('商户名称 posgate 演示商户 (demo)');
    // the chip's counter carried over: the issuer does not take the next cryptogram for a replay
    const second = await terminal(p.platform.iso.port, state, ['1', '', '2580', '2', '5.00', '1', 'c', '123456', '0', ''].join('\n'), 2, ['--merchant-name', '面馆 Noodle shop']);
    expect(second.out).toContain('交易成功 APPROVED');
    expect(second.out).toContain('商户名称 面馆 Noodle shop');
    expect(JSON.parse(readFileSync(join(dir, 'demo-chips.json'), 'utf8'))).toEqual({ '6224242900000113': 2 });
  });

  it('a mistyped PIN, authorisation code or activation code is said to be one, and the terminal carries on with the next sale', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'posgate-term-')), 't.json');
    // a PIN of 2 digits is asked for again, as a PIN pad would
    const keys = ['1', '01', '2580', 'B', 'TOOLONGCODE', '1122', '10.00', '1', 's', '2', '7.00', '1', 's', '12', '123456', '5', '1', 's', 'a', 'bb', 'ccc', 'A', 'PGSIM-0002', '1234', '2', '3.00', '11', 's', '123456', '0', ''];
    // demo terminal 1, which no other case here uses: its STANs start again with this state file
    const { code, out } = await terminal(p.platform.iso.port, state, keys.join('\n'), 1);
    expect(out).toContain('错误 field 38: invalid value at byte 0; expected at most 6 characters');
    expect(out).toContain('密码为4至12位数字 a PIN is 4 to 12 digits');
    expect(out).toContain('错误 no PIN of 4 to 12 digits: the transaction is cancelled'); // the balance inquiry, after three tries
    expect(out).toContain('错误 an activation code is 12 digits');
    // the completion that could not be encoded was never sent, and left no reversal to block the sale
    expect(out).toContain('交易成功 APPROVED');
    expect(JSON.parse(readFileSync(state, 'utf8')).pendingReversal).toBeUndefined();
    // every test card listed can be picked by its number, the last one too: its stripe is counterfeit
    expect(out).toMatch(/^ {2}11\. 6224242900001103 {2}counterfeit stripe/m);
    expect(out).toContain('卡号 Card number (or test card 1–11): ');
    expect(out).toMatch(/交易失败 DECLINED {2}05 不予承兑/);
    expect(code).toBe(0);
  });

  it('remembers its keys and batch in its state file across runs', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'posgate-term-')), 't.json');
    await terminal(p.platform.iso.port, state, '1\n\n2580\n0\n');
    const { out } = await terminal(p.platform.iso.port, state, '0\n');
    expect(out).toContain('已签到 signed in');
  });

  it('sells only once a cashier has signed in with its password; the supervisor and the administrator do not sell', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'posgate-term-')), 't.json');
    const started = Date.now();
    const keys = ['2', '1', '01', '9999', '2', '1', '00', '1', '99', '1', '02', '1397', '0', ''];
    const { code, out } = await terminal(p.platform.iso.port, state, keys.join('\n'), 1);
    expect(code).toBe(0);
    expect(out.match(/请先签到 Sign in first/g)).toHaveLength(2); // before any sign-in, and after the wrong password
    expect(out).toContain('操作员签到失败 operator 01 not signed in: 55');
    expect(out).toContain('操作员 00 不能签到交易');
    expect(out).toContain('操作员 99 不能签到交易');
    expect(out).toContain('签到成功 signed in, batch 000001, 操作员 operator 02');
    expect(out).toContain('操作员 02  已签到 signed in');
    expect(out).not.toContain('9999\n'); // the password is read, never echoed
    const audited = await p.platform.store.db.selectFrom('audit_events').select(['subject', 'outcome']).where('action', '=', 'operator.verify').where('subject', 'in', ['operator:30000001:01', 'operator:30000001:02']).where('at', '>=', started).orderBy('id').execute();
    expect(audited).toEqual([
      { subject: 'operator:30000001:01', outcome: 'failure' },
      { subject: 'operator:30000001:02', outcome: 'success' },
    ]);
  });
});

/**
 * `posgate terminal --demo N` typed at as it answers: `type` sends keys, `waitFor` resolves with the
 * first match of a pattern in all it has printed so far, `exit` closes its input and waits for it.
 */
function interactiveTerminal(port: number, state: string, demo = 1, env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [CLI, 'terminal', '--demo', String(demo), '--port', String(port), '--state', state], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    get out() {
      return out;
    },
    type: (keys: readonly string[]) => void child.stdin.write(`${keys.join('\n')}\n`),
    waitFor: (re: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} in:\n${out}`)), 10_000);
        const check = () => {
          const m = re.exec(out);
          if (!m) return;
          clearTimeout(timer);
          child.stdout.off('data', check);
          resolve(m);
        };
        child.stdout.on('data', check);
        check();
      }),
    exit: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** UTC−12 and UTC+14 are 26 hours apart, so at any moment one of them is on another day than China. */
function zoneWhereTodayIsNotChinas(): string {
  const today = (timeZone: string) => new Intl.DateTimeFormat('en-CA', { timeZone }).format(Date.now());
  return ['Etc/GMT+12', 'Pacific/Kiritimati'].find((zone) => today(zone) !== today('Asia/Shanghai'))!;
}

describe('posgate terminal: a refund from the receipt', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
  });
  afterAll(async () => p.close());

  it('refunds part of a sale by the reference number and date on its receipt', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'posgate-term-')), 't.json');
    // The terminal runs where today is not China's day: the receipt still prints the date the host
    // keeps (China's), which is the one the refund must quote.
    const pos = interactiveTerminal(p.platform.iso.port, state, 1, { ...process.env, TZ: zoneWhereTodayIsNotChinas() });
    pos.type(['1', '', '2580', '2', '50.00', '1', 's', '123456']);
    const rrn = (await pos.waitFor(/参考号\s+([0-9A-Z]{12})/))[1]!;
    const date = (await pos.waitFor(/日期时间\s+\d{4}\/(\d\d)\/(\d\d)/)).slice(1).join('');
    pos.type(['P', 'j', '4', '315926', rrn, date, '20.00', '1', 's', '7', 'P', 'j', '0']);
    await pos.exit();
    expect(pos.out).toContain('退货 REFUND');
    expect(pos.out).toContain('RMB -20.00');
    // the settlement slip (结算单): the host's count of the batch, which agreed with the terminal's
    const slip = pos.out.slice(pos.out.indexOf('结算单 SETTLEMENT'));
    expect(slip).toMatch(/内卡 DOMESTIC\s+对账平 balanced\n消费 SALES 1\s+50\.00\n退货 REFUNDS 1\s+-20\.00/);
    expect(slip).toMatch(/外卡 FOREIGN\s+对账平 balanced\n消费 SALES 0\s+0\.00/);
    // dated as the host answered it (China time, whatever the terminal's time zone): when it closed the batch
    const { closed_at: closedAt } = await p.platform.store.db.selectFrom('batches').select('closed_at').where('batch', '=', 1).where('status', '=', 'closed').executeTakeFirstOrThrow();
    const closed = localTime(closedAt!, 'Asia/Shanghai');
    expect(slip).toContain(`日期时间     ${closed.day.replaceAll('-', '/')} ${closed.hhmmss.slice(0, 2)}:${closed.hhmmss.slice(2, 4)}:${closed.hhmmss.slice(4)}`);
    // P j: the slip again, marked as a reprint; before any settlement there was none to print
    expect(pos.out.indexOf('尚未结算 no settlement yet')).toBeLessThan(pos.out.indexOf('结算单 SETTLEMENT'));
    const again = slip.slice(slip.indexOf('结算单 SETTLEMENT', 1));
    expect(again).toContain('重打印 REPRINT');
    expect(again).toMatch(/消费 SALES 1\s+50\.00\n退货 REFUNDS 1\s+-20\.00/);
    const refund = await p.platform.store.db.selectFrom('transactions').select(['amount_fen', 'response_code']).where('type', '=', '25').executeTakeFirstOrThrow();
    expect(refund).toEqual({ amount_fen: 2_000, response_code: '00' });
  });
});

describe('posgate terminal: the pre-authorisation family, reprints and the batch\'s totals', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
  });
  afterAll(async () => p.close());

  it('pre-authorises, completes, voids the completion and the pre-auth, prints each under its own title, reprints, totals and settles balanced', async () => {
    const state = join(mkdtempSync(join(tmpdir(), 'posgate-term-')), 't.json');
    const card = '6224242900000113';
    const balance = async () => (await p.platform.store.db.selectFrom('cards').select('balance_fen').where('pan_hash', '=', p.platform.hsm.panHash(card)).executeTakeFirstOrThrow()).balance_fen;
    const before = await balance();
    const pos = interactiveTerminal(p.platform.iso.port, state);
    // sign-in takes STANs 1–4 (with the password-free download and the cashier's 902): the pre-auth is 5, its completion 6
    pos.type(['1', '', '2580', '6', '100.00', '1', 's', '123456']);
    const auth = (await pos.waitFor(/授权码\s+(\d{6})/))[1]!;
    const date = (await pos.waitFor(/日期时间\s+\d{4}\/(\d\d)\/(\d\d)/)).slice(1).join('');
    pos.type(['B', auth, date, '110.00', '1', 's']);
    await pos.waitFor(/预授权完成 COMPLETION/);
    // the completion void (STAN 8, after the supervisor's 902), then the pre-auth made completable again is voided
    pos.type(['D', '315926', '000006', 'P', 'l', 'C', '315926', auth, date, '100.00', '1', 's', 'P', 'd', 'P', 't', '7', '0']);
    await pos.exit();
    const out = pos.out;
    const completionVoid = out.indexOf('完成撤销 COMPLETION VOID');
    expect(completionVoid).toBeGreaterThan(0);
    expect(out.slice(completionVoid)).toContain('重打印凭证 REPRINT'); // P l: the last receipt again
    expect(out.slice(0, out.indexOf('重打印凭证 REPRINT'))).toContain('RMB -110.00');
    expect(out).toContain('预授权撤销 PRE-AUTH VOID');
    expect(out).toContain('RMB -100.00');
    expect(out).not.toContain('消费撤销 VOID'); // nothing here is a sale void
    // P d: every transaction of the batch, the voided completion marked
    expect(out).toMatch(/000006 预授权完成 已撤销\s+110\.00/);
    expect(out).toMatch(/000008 完成撤销\s+-110\.00/);
    // P t: what stands, and the net the settlement counts
    expect(out).toMatch(/预授权完成 1\s+110\.00/);
    expect(out).toMatch(/完成撤销 1\s+-110\.00/);
    expect(out).toMatch(/结算净额 NET\s+RMB 0\.00/);
    expect(out).toContain('结算完成 settled batch 000001: 对账平 balanced');
    const records = await p.platform.store.db.selectFrom('transactions').select(['stan', 'type', 'status']).where('response_code', '=', '00').orderBy('stan').execute();
    expect(records).toEqual([
      { stan: '000005', type: '10', status: 'voided' },
      { stan: '000006', type: '20', status: 'voided' },
      { stan: '000008', type: '21', status: 'approved' },
      { stan: '000010', type: '11', status: 'approved' },
    ]);
    expect(await balance()).toBe(before);
  });
});
