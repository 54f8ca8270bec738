import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { DEMO_CARDS, demoChipCard, demoTid, demoTmk, DEMO_MERCHANT_NAME, DEMO_MID } from '../demo/seed.js';
import { inWindow, localTime } from '../host/clock.js';
import { resolveMmdd } from '../iso8583/index.js';
import { BATCH_SETTLE_AT, batchDetail, batchSummary, CASHIER, ChipCardSimulator, describeResponse, FileStorage, formatYuan, receipt, receiptOf, settlementSlip, SoftTerminal, TerminalError, type BatchEntry, type CardPresentation, type Endpoint, type EntryMode, type ReceiptHeading, type SaleResult, type Settlement } from '../terminal/index.js';
import { parseYuan, UsageError, type Io } from './output.js';
import { EndOfInput, Prompter } from './prompter.js';

type Run = (action: () => Promise<void> | void, json: () => boolean) => Promise<void>;


const ENTRY_KEYS: Record<string, EntryMode> = { s: 'swipe', c: 'chip', t: 'tap', k: 'keyed', '': 'swipe' };

export function terminalCommand(io: Io, run: Run): Command {
  return new Command('terminal')
    .description('an interactive POS terminal (the software terminal) on the ISO 8583 link')
    .option('--demo <n>', 'be demo terminal n (1 = 30000001), with its documented demo TMK')
    .option('--tid <tid>', 'terminal ID')
    .option('--mid <mid>', 'merchant ID')
    .option('--tmk <hex>', 'inject this TMK (key ceremony); otherwise activate with menu item A')
    .option('--host <host>', 'host address', '127.0.0.1')
    .option('--port <port>', 'host ISO 8583 port', '8583')
    .option('--tls', 'connect over TLS (the host\'s --tls-port), checking the host\'s certificate')
    .option('--ca <file>', 'with --tls: trust this CA or pinned certificate (PEM) rather than the system\'s CAs')
    .option('--servername <name>', 'with --tls: the name the host\'s certificate must carry (default: --host)')
    .option('--state <file>', 'the terminal\'s secure storage (keys, batch, pending reversal)')
    .option('--merchant-name <name>', 'the merchant\'s name as receipts print it (default: the demo merchant\'s, or the MID)')
    .option('--operator <no>', 'the cashier offered at sign-in (menu 1)', '01')
    .action((o) =>
      run(async () => {
        let tid: string = o.tid;
        let mid: string = o.mid;
        let tmk: string | undefined = o.tmk;
        if (o.demo !== undefined) {
          const n = Number(o.demo);
          if (!Number.isInteger(n) || n < 1) throw new UsageError('invalid_demo', '--demo takes a terminal number from 1');
          tid = demoTid(n - 1);
          mid = DEMO_MID;
          tmk = demoTmk(tid);
        }
        if (!tid || !mid) throw new UsageError('terminal_identity', 'give --demo N, or --tid and --mid');
        const endpoint = terminalEndpoint(o);
        const shop: Shop = { mid, name: o.merchantName ?? (mid === DEMO_MID ? DEMO_MERCHANT_NAME : mid) };
        const p = new Prompter(io);
        const terminal = new SoftTerminal({
          tid,
          mid,
          endpoint,
          storage: new FileStorage(o.state ?? `data/terminal-${tid}.json`),
          operator: o.operator,
          responseTimeoutMs: 15_000,
          onForcedSettlement: (r) => p.say(`批次已满 ${BATCH_SETTLE_AT} 笔，先结算 the batch is full: ${settledText(r, terminal, shop)}`),
        });
        if (tmk && !terminal.hasTmk) terminal.injectTmk(tmk);
        try {
          await menu(terminal, p, shop, new DemoChips(join(dirname(o.state ?? `data/terminal-${tid}.json`), 'demo-chips.json')));
        } catch (err) {
          if (!(err instanceof EndOfInput)) throw err;
        } finally {
          p.close();
          terminal.close();
        }
      }, () => false),
    );
}

/** Where the terminal connects: plain TCP, or TLS checking the host's certificate (§1.4). */
function terminalEndpoint(o: { host: string; port: string; tls?: boolean; ca?: string; servername?: string }): Endpoint {
  const port = Number(o.port);
  if (!/^\d{1,5}$/.test(o.port) || port < 1 || port > 65_535) throw new UsageError('invalid_port', `--port takes 1–65535, not "${o.port}"`);
  if (!o.tls) {
    if (o.ca !== undefined || o.servername !== undefined) throw new UsageError('tls_options', '--ca and --servername go with --tls');
    return { host: o.host, port };
  }
  let ca: Buffer | undefined;
  if (o.ca !== undefined) {
    try {
      ca = readFileSync(o.ca);
    } catch (err) {
      throw new UsageError('tls_files', `cannot read the CA certificate: ${(err as Error).message}`);
    }
  }
  return { host: o.host, port, tls: { minVersion: 'TLSv1.2', ...(ca ? { ca } : {}), ...(o.servername ? { servername: o.servername } : {}) } };
}

/**
 * The demo cards' simulated chips, one per card, whose transaction counters (ATC) persist in
 * `demo-chips.json` beside the terminal's state: the issuer declines a cryptogram whose ATC is not
 * above the card's last one, as it would a replay, so a card's counter must keep rising from one
 * session to the next. A counter is saved as reserved before the chip is read (a read that comes to
 * nothing leaves a gap, which issuers allow).
 */
class DemoChips {
  private readonly chips = new Map<string, ChipCardSimulator>();
  private readonly saved: Record<string, number>;

  constructor(private readonly file: string) {
    let saved: Record<string, number> = {};
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (parsed && typeof parsed === 'object') saved = parsed as Record<string, number>;
    } catch {
      // no counters yet
    }
    this.saved = saved;
  }

  chip(pan: string): ChipCardSimulator {
    let chip = this.chips.get(pan);
    if (!chip) this.chips.set(pan, (chip = demoChipCard(pan, '01', Number.isInteger(this.saved[pan]) ? this.saved[pan]! : 0)));
    this.saved[pan] = chip.transactionCounter + 1;
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, JSON.stringify(this.saved));
    return chip;
  }
}

async function readCard(p: Prompter, chips: DemoChips): Promise<CardPresentation> {
  p.say(DEMO_CARDS.map((c, i) => `  ${String(i + 1).padStart(2)}. ${c.pan}  ${c.description}`).join('\n'));
  const which = await p.ask(`卡号 Card number (or test card 1–${DEMO_CARDS.length}): `);
  const demo = /^\d{1,2}$/.test(which) ? DEMO_CARDS[Number(which) - 1] : DEMO_CARDS.find((c) => c.pan === which);
  const pan = demo?.pan ?? which;
  if (!/^\d{12,19}$/.test(pan)) throw new UsageError('invalid_card', 'a card number is 12–19 digits');
  const expiry = demo?.expiry ?? (await p.ask('有效期 Expiry YYMM: '));
  if (!/^\d{4}$/.test(expiry)) throw new UsageError('invalid_expiry', 'the expiry is YYMM');
  const key = (await p.ask('方式 Entry: [s]刷卡 swipe [c]插卡 chip [t]挥卡 tap [k]手输 keyed: ')).toLowerCase();
  const entry = ENTRY_KEYS[key] ?? 'swipe';
  // A chip or tap reads the card's (simulated) chip, personalised from the public demo issuer key: a
  // demo card's ARQC verifies at the issuer simulator; any other card number's does not.
  return { entry, pan, expiry, ...(demo && (entry === 'swipe' || entry === 'fallback') ? { track2: demo.track2 } : {}), ...(entry === 'chip' || entry === 'tap' ? { chip: chips.chip(pan) } : {}) };
}

/** The terminal decides locally whether it may skip the PIN (§9.2), from the parameters it downloaded. */
function passwordFreeLocally(t: SoftTerminal, card: CardPresentation, amountFen: number): boolean {
  const q = t.passwordFreeParameters;
  if (!q || q.FF8054 !== '1' || card.entry !== 'tap') return false;
  if (amountFen > Number(q.FF8058 ?? 0)) return false;
  const hhmm = localTime(Date.now(), 'Asia/Shanghai').hhmm;
  return inWindow(hhmm, q.FF9001 ?? '0000', q.FF9002 ?? '0000');
}

/** The merchant the terminal belongs to, as its receipts name it. */
interface Shop {
  readonly mid: string;
  readonly name: string;
}

/** The merchant and terminal a receipt is printed for, and the batch. */
function heading(t: SoftTerminal, shop: Shop, batch = t.batch): ReceiptHeading {
  return { merchantName: shop.name, mid: shop.mid, tid: t.tid, batch };
}

/**
 * Both copies of a transaction's receipt, from its line in the batch log. Its date and time are the
 * ones the host answered (fields 13 and 12, China time), which a refund or a completion must quote
 * later: today is China's, so the process's own time zone plays no part and a terminal abroad prints
 * the acquirer's date.
 */
function printReceipt(p: Prompter, line: BatchEntry, at: ReceiptHeading, reprint = false): void {
  const data = receiptOf(line, at, localTime(Date.now(), 'Asia/Shanghai').day, reprint);
  p.say(['', ...receipt(data, 'merchant'), '', ...receipt(data, 'cardholder'), ''].join('\n'));
}

function show(p: Prompter, r: SaleResult, t: SoftTerminal, shop: Shop): void {
  if (r.problem === 'no_response') {
    const why = t.connectionProblem ? ` (cannot connect: ${t.connectionProblem})` : '';
    return p.say(`主机无应答，交易已记为待冲正 No answer from the host${why}: the transaction will be reversed`);
  }
  if (r.problem === 'mac_failure') return p.say('应答MAC校验错，交易将冲正 Response MAC wrong: the transaction will be reversed');
  if (r.problem === 'result_unknown') return p.say('结果未知，请核对 Result unknown: check with the acquirer');
  if (r.problem === 'card_declined') return p.say('卡片拒绝发卡行应答，交易将冲正 DECLINED by the card: it did not accept the issuer\'s answer, the transaction will be reversed');
  p.say(r.approved ? `交易成功 APPROVED  ${describeResponse(r.rc)}` : `交易失败 DECLINED  ${describeResponse(r.rc)}`);
  if (r.issuerAuthenticated === false) p.say('发卡行认证失败 Issuer authentication failed: the card did not accept the issuer\'s answer');
  if (!r.approved) return;
  if (r.balanceFen !== undefined) p.say(`可用余额 Available balance: RMB ${formatYuan(r.balanceFen)}`);
  if (r.journal) printReceipt(p, r.journal, heading(t, shop, r.batch));
}

/** 打印: a receipt again, the batch's transactions or its totals, all from the terminal's batch log. */
async function print(t: SoftTerminal, p: Prompter, shop: Shop): Promise<void> {
  const what = (await p.ask('[l] 重打最后一笔 last receipt  [s] 重打任意一笔 by trace number  [d] 交易明细 transactions  [t] 交易汇总 totals  [j] 重打结算单 last settlement: ')).toLowerCase();
  const log = t.batchLog;
  if (what === 'd') return p.say(batchDetail(log, heading(t, shop)).join('\n'));
  if (what === 't') return p.say(batchSummary(log, heading(t, shop)).join('\n'));
  if (what === 'j') return p.say(t.lastSettlement ? slip(t.lastSettlement, t, shop, true) : '尚未结算 no settlement yet');
  let line: BatchEntry | undefined;
  if (what === 's') {
    const stan = (await p.ask('凭证号 Trace number (STAN): ')).padStart(6, '0');
    line = log.find((e) => e.stan === stan);
    if (!line) return p.say(`本批次无此凭证号 no transaction with trace number ${stan} in this batch`);
  } else if (what === 'l') {
    line = log.at(-1);
    if (!line) return p.say('本批次无交易 no transaction in this batch');
  } else return p.say('请选择 Choose l, s, d, t or j');
  printReceipt(p, line, heading(t, shop), true);
}

async function supervisor(t: SoftTerminal, p: Prompter): Promise<boolean> {
  const password = await p.secret('主管密码 Supervisor password: ');
  const rc = await t.verifyOperator('00', password);
  if (rc !== '00') p.say(`主管验证失败 ${describeResponse(rc)}`);
  return rc === '00';
}

/** Menu items that take money or settle: a cashier must have signed in with its password first. */
const CASHIER_ITEMS = new Set(['2', '3', '4', '5', '6', '7', 'B', 'C', 'D']);

async function menu(t: SoftTerminal, p: Prompter, shop: Shop, chips: DemoChips): Promise<void> {
  /** the cashier who signed in with its password in this session */
  let cashier: string | undefined;
  for (;;) {
    p.say(
      [
        '',
        `posgate 终端 ${t.tid}  批次 batch ${String(t.batch).padStart(6, '0')}  操作员 ${cashier ?? '--'}  ${t.signedIn ? '已签到 signed in' : '未签到 not signed in'}${t.pendingReversal ? '  待冲正 reversal pending' : ''}`,
        ' 1 签到 Sign in       2 消费 Sale          3 消费撤销 Void',
        ' 4 退货 Refund        5 余额查询 Balance   6 预授权 Pre-auth',
        ' 7 结算 Settle        8 操作员 Operators   9 签退 Sign out',
        ' B 预授权完成 Completion   C 预授权撤销 Pre-auth void',
        ' D 完成撤销 Completion void   P 打印 Print',
        ' A 激活 Activate      0 退出 Exit',
      ].join('\n'),
    );
    const choice = (await p.ask('> ')).toUpperCase();
    if (CASHIER_ITEMS.has(choice) && cashier === undefined) {
      p.say('请先签到 Sign in first (menu 1), as a cashier with its password');
      continue;
    }
    try {
      switch (choice) {
        case '0':
          return;
        case '1': {
          // 签到: the terminal signs in (new working keys), then the cashier proves its password (902)
          const no = ((await p.ask(`操作员号 Operator (${t.operator}): `)) || t.operator).padStart(2, '0');
          if (!CASHIER.test(no)) {
            p.say(`操作员 ${no} 不能签到交易 operator ${no} does not sell: cashiers are 01 to 98`);
            break;
          }
          const password = await p.secret('密码 Password: ');
          const r = await t.signIn(no);
          if (r.rc !== '00') {
            p.say(`签到失败 ${describeResponse(r.rc)}`);
            break;
          }
          await t.downloadPasswordFreeParameters().catch(() => undefined);
          const rc = await t.signInOperator(no, password);
          if (rc === '00') cashier = no;
          p.say(rc === '00' ? `签到成功 signed in, batch ${String(r.batch).padStart(6, '0')}, 操作员 operator ${no}` : `操作员签到失败 operator ${no} not signed in: ${describeResponse(rc)}`);
          break;
        }
        case '2':
        case '6': {
          const amount = parseYuan(await p.ask('金额 Amount (元 yuan): '));
          const card = await readCard(p, chips);
          let pin = passwordFreeLocally(t, card, amount) ? undefined : await p.pin();
          let r = choice === '2' ? await t.sale(card, amount, pin) : await t.preauth(card, amount, pin);
          if (!r.approved && pin === undefined && ['55', '61', '65'].includes(r.rc)) {
            p.say('需要输入密码 A PIN is needed for this payment');
            pin = await p.pin();
            r = choice === '2' ? await t.sale(card, amount, pin) : await t.preauth(card, amount, pin);
          }
          show(p, r, t, shop);
          break;
        }
        case '3':
        case 'D': {
          // a sale's void (消费撤销) or a completion's (预授权完成撤销): the supervisor, then the original's trace number
          if (!(await supervisor(t, p))) break;
          const stan = (await p.ask(choice === '3' ? '原凭证号 Original trace number (STAN): ' : '原完成凭证号 Trace number (STAN) of the completion: ')).padStart(6, '0');
          show(p, await (choice === '3' ? t.voidSale(stan) : t.completionVoid(stan)), t, shop);
          break;
        }
        case '4': {
          if (!(await supervisor(t, p))) break;
          const rrn = await p.ask('原参考号 Original reference number (RRN): ');
          const date = await p.ask('原交易日期 Original date MMDD: ');
          // The receipt's batch and trace numbers; a sale still in this terminal's batch fills them in.
          const known = t.batchLog.find((e) => e.rrn === rrn);
          const batchText = known ? '' : await p.ask('原批次号 Original batch (as on the receipt, blank if another terminal): ');
          const stanText = known ? '' : await p.ask('原凭证号 Original trace number (blank if another terminal): ');
          const original = {
            rrn,
            date,
            ...(known ? { batch: t.batch, stan: known.stan } : {}),
            ...(batchText ? { batch: Number(batchText) } : {}),
            ...(stanText ? { stan: stanText.padStart(6, '0') } : {}),
          };
          const amount = parseYuan(await p.ask('退货金额 Refund amount (元): '));
          const card = await readCard(p, chips);
          show(p, await t.refund(card, original, amount), t, shop);
          break;
        }
        case '5': {
          const card = await readCard(p, chips);
          show(p, await t.balance(card, await p.pin()), t, shop);
          break;
        }
        case '7': {
          p.say(settledText(await t.settle(), t, shop));
          break;
        }
        case '8': {
          const what = await p.ask('[v] 操作员签到 verify  [c] 修改密码 change password: ');
          const no = (await p.ask('操作员号 Operator number: ')).padStart(2, '0');
          if (what.toLowerCase() === 'c') {
            const old = await p.secret('原密码 Current password: ');
            const next = await p.secret('新密码 New password: ');
            const again = await p.secret('再次输入 New password again: ');
            if (next !== again) {
              p.say('两次输入不一致 The two new passwords differ');
              break;
            }
            const rc = await t.changeOperatorPassword(no, old, next);
            p.say(rc === '00' ? '密码已修改 password changed' : rc === '12' ? '新密码不符合规则 (长度、连号、重复或与近期密码相同) the new password breaks the rules' : `失败 ${describeResponse(rc)}`);
          } else {
            const rc = await t.verifyOperator(no, await p.secret('密码 Password: '));
            p.say(rc === '00' ? `操作员 ${no} 签到成功 verified` : `失败 ${describeResponse(rc)}`);
          }
          break;
        }
        case '9':
          cashier = undefined;
          p.say(`签退 ${describeResponse(await t.signOut())}`);
          break;
        case 'B':
        case 'C': {
          if (choice === 'C' && !(await supervisor(t, p))) break;
          const authCode = await p.ask('预授权码 Pre-authorisation code: ');
          const date = await p.ask('预授权日期 Pre-authorisation date MMDD: ');
          const amount = parseYuan(await p.ask(choice === 'B' ? '完成金额 Completion amount (元): ' : '预授权金额 Pre-authorised amount (元): '));
          const card = await readCard(p, chips);
          const r = choice === 'B' ? await t.completion(card, { authCode, date }, amount) : await t.preauthVoid(card, { authCode, date, amountFen: amount });
          show(p, r, t, shop);
          break;
        }
        case 'P':
          await print(t, p, shop);
          break;
        case 'A': {
          const serial = await p.ask('序列号 Serial number: ');
          const code = await p.secret('激活码 Activation code: ');
          const r = await t.activate(serial, code);
          p.say(r.rc === '00' ? `激活成功 activated, TMK KCV ${r.tmkKcv}; 请签到 now sign in` : `激活失败 ${describeResponse(r.rc)}`);
          break;
        }
        default:
          p.say('请选择菜单 Choose from the menu');
      }
    } catch (err) {
      if (err instanceof EndOfInput) throw err;
      if (err instanceof TerminalError || err instanceof UsageError) p.say(`错误 ${err.message}`);
      else throw err;
    }
  }
}

/** What a settlement came to, and on 00 its slip (结算单). */
function settledText(r: Settlement, t: SoftTerminal, shop: Shop): string {
  if (r.rc !== '00') return `结算失败 ${describeResponse(r.rc)}`;
  return [`结算完成 settled batch ${String(r.batch).padStart(6, '0')}: ${r.balanced ? '对账平 balanced' : `对账不平 not balanced, ${r.uploaded} 笔已上送 uploaded`}`, slip(r, t, shop)].join('\n');
}

/** The settlement slip, dated as the host answered it (China time, as receipts are). */
function slip(r: Settlement, t: SoftTerminal, shop: Shop, reprint = false): string {
  const now = localTime(Date.now(), 'Asia/Shanghai');
  const at = { date: r.date ? resolveMmdd(r.date, now.day) : now.day, time: r.time ?? now.hhmmss };
  return ['', ...settlementSlip(r, heading(t, shop), at, reprint), ''].join('\n');
}
