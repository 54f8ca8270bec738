import { resolveMmdd } from '../iso8583/index.js';
import type { Settlement } from './soft-terminal.js';
import type { BatchEntry } from './storage.js';

/**
 * Receipts (签购单) for a 58 mm printer: 32 columns, where a CJK character takes two. Merchant and
 * cardholder copies; the PAN is masked; a password-free payment under the no-signature limit
 * prints 免密免签 instead of a signature line. Also what a POS prints from its batch log: a receipt
 * again (重打印), the batch's transactions (交易明细) and its totals (交易汇总); and the settlement
 * slip (结算单).
 */
export const RECEIPT_COLUMNS = 32;

export type ReceiptKind = 'sale' | 'void' | 'refund' | 'preauth' | 'preauth_void' | 'completion' | 'completion_void' | 'balance';

export interface ReceiptData {
  readonly merchantName: string;
  readonly mid: string;
  readonly tid: string;
  readonly operator: string;
  readonly kind: ReceiptKind;
  readonly panMasked: string;
  readonly entry: string;
  readonly amountFen: number;
  readonly batch: number;
  readonly stan: string;
  readonly rrn: string;
  readonly authCode: string;
  /**
   * The acceptor's local date (YYYY-MM-DD) and time (hhmmss) of the transaction, as the host answered
   * it in fields 13 and 12: the date a refund or completion later quotes, whatever the printer's clock says.
   */
  readonly at: { readonly date: string; readonly time: string };
  readonly cardOrg: string;
  readonly passwordFree: boolean;
  readonly noSignature: boolean;
  /** printed again from the batch log (重打印), not at the time of the transaction */
  readonly reprint?: boolean;
}

const TITLES: Record<ReceiptKind, string> = {
  sale: '消费 SALE',
  void: '消费撤销 VOID',
  refund: '退货 REFUND',
  preauth: '预授权 PRE-AUTH',
  preauth_void: '预授权撤销 PRE-AUTH VOID',
  completion: '预授权完成 COMPLETION',
  completion_void: '完成撤销 COMPLETION VOID',
  balance: '余额查询 BALANCE',
};

/** What each transaction type (60.1) of the batch log prints as. */
const KIND_OF_TYPE: Readonly<Record<string, ReceiptKind>> = { '22': 'sale', '23': 'void', '25': 'refund', '10': 'preauth', '11': 'preauth_void', '20': 'completion', '21': 'completion_void' };

/** Kinds that give money back to the card: their amounts print negative. */
const NEGATIVE = new Set<ReceiptKind>(['void', 'refund', 'preauth_void', 'completion_void']);

/** How the card was read (the terminal's EntryMode), as a receipt names it. */
export const ENTRY_LABELS: Readonly<Record<string, string>> = { swipe: '刷卡 swipe', chip: '插卡 chip', tap: '挥卡 tap', keyed: '手输 keyed', fallback: '降级 fallback' };

/** Display width: 2 for CJK and full-width characters, 1 otherwise. */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) ? 2 : 1;
  }
  return w;
}

function pair(left: string, right: string): string {
  const gap = RECEIPT_COLUMNS - displayWidth(left) - displayWidth(right);
  return gap >= 1 ? left + ' '.repeat(gap) + right : `${left}\n${' '.repeat(Math.max(0, RECEIPT_COLUMNS - displayWidth(right)))}${right}`;
}

function centre(text: string): string {
  const pad = Math.max(0, Math.floor((RECEIPT_COLUMNS - displayWidth(text)) / 2));
  return ' '.repeat(pad) + text;
}

export function formatYuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100).toLocaleString('en-US')}.${String(abs % 100).padStart(2, '0')}`;
}

function stamp(at: ReceiptData['at']): string {
  return `${at.date.replaceAll('-', '/')} ${at.time.slice(0, 2)}:${at.time.slice(2, 4)}:${at.time.slice(4, 6)}`;
}

const RULE = '-'.repeat(RECEIPT_COLUMNS);

/** Lines as the printer takes them: each of at most 32 columns. */
function printable(lines: readonly string[]): string[] {
  return lines.flatMap((l) => l.split('\n')).flatMap(wrap);
}

/** Breaks a line into pieces of at most 32 columns. */
function wrap(line: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const ch of line) {
    if (displayWidth(current + ch) > RECEIPT_COLUMNS) {
      out.push(current);
      current = '';
    }
    current += ch;
  }
  out.push(current);
  return out;
}

export function receipt(data: ReceiptData, copy: 'merchant' | 'cardholder'): string[] {
  const negative = NEGATIVE.has(data.kind);
  const lines = [
    centre('POS签购单'),
    centre(copy === 'merchant' ? '商户存根 MERCHANT COPY' : '持卡人存根 CARDHOLDER COPY'),
    ...(data.reprint ? [centre('重打印凭证 REPRINT')] : []),
    RULE,
    `商户名称 ${data.merchantName}`,
    pair('商户编号', data.mid),
    pair('终端编号', data.tid),
    pair('操作员号', data.operator),
    RULE,
    pair('卡号', data.panMasked),
    pair('卡组织', data.cardOrg),
    pair('交易类型', TITLES[data.kind]),
    pair('输入方式', data.entry),
    pair('批次号', String(data.batch).padStart(6, '0')),
    pair('凭证号', data.stan),
    pair('授权码', data.authCode || '-'),
    pair('参考号', data.rrn),
    pair('日期时间', stamp(data.at)),
    RULE,
    pair('金额 AMOUNT', `RMB ${negative ? '-' : ''}${formatYuan(data.amountFen)}`),
    RULE,
  ];
  if (copy === 'merchant') {
    if (data.passwordFree && data.noSignature) lines.push(centre('免密免签'), centre('NO PIN, NO SIGNATURE'));
    else lines.push('持卡人签名 CARDHOLDER SIGNATURE', '', '', RULE, '本人确认以上交易，同意将其记入本卡账户');
  } else if (data.passwordFree && data.noSignature) lines.push(centre('免密免签'));
  return printable(lines);
}

/** Who the receipts are printed for: the merchant's name and IDs, the batch the log belongs to. */
export interface ReceiptHeading {
  readonly merchantName: string;
  readonly mid: string;
  readonly tid: string;
  readonly batch: number;
}

/**
 * A receipt's data from a line of the batch log; `today` (YYYY-MM-DD, China) resolves the line's
 * MMDD to a year. Lines written before the log kept the time and the entry mode print them as
 * unknown (--:--:--, -) rather than make them up.
 */
export function receiptOf(line: BatchEntry, heading: ReceiptHeading, today: string, reprint = false): ReceiptData {
  return {
    ...heading,
    operator: line.operator ?? '',
    kind: KIND_OF_TYPE[line.type] ?? 'sale',
    panMasked: line.panMasked,
    entry: line.entry === undefined ? '-' : (ENTRY_LABELS[line.entry] ?? line.entry),
    amountFen: line.amountFen,
    stan: line.stan,
    rrn: line.rrn,
    authCode: line.authCode,
    at: { date: /^\d{4}$/.test(line.date) ? resolveMmdd(line.date, today) : today, time: line.time ?? '------' },
    cardOrg: line.cardOrg,
    passwordFree: line.passwordFree ?? false,
    noSignature: line.noSignature ?? false,
    ...(reprint ? { reprint } : {}),
  };
}

/** The head of a batch report: its title, the terminal and the batch. */
function titled(title: string, heading: ReceiptHeading): string[] {
  return [centre(title), pair('终端编号', heading.tid), pair('批次号', String(heading.batch).padStart(6, '0')), RULE];
}

const STATUS_MARKS: Record<BatchEntry['status'], string> = { approved: '', voided: ' 已撤销', reversed: ' 已冲正' };

function short(kind: ReceiptKind): string {
  return TITLES[kind].split(' ')[0]!;
}

/** 交易明细: every transaction of the batch log, two lines each; voided and reversed ones are marked. */
export function batchDetail(lines: readonly BatchEntry[], heading: ReceiptHeading): string[] {
  const out = titled('交易明细 TRANSACTIONS', heading);
  if (lines.length === 0) out.push(centre('无交易 no transactions'));
  for (const line of lines) {
    const kind = KIND_OF_TYPE[line.type] ?? 'sale';
    out.push(pair(`${line.stan} ${short(kind)}${STATUS_MARKS[line.status]}`, `${NEGATIVE.has(kind) ? '-' : ''}${formatYuan(line.amountFen)}`));
    out.push(pair(`  ${line.panMasked}`, line.authCode || '-'));
  }
  out.push(RULE);
  return printable(out);
}

/** How a kind counts in the net the settlement takes (§4.6): pre-authorisations and their voids move no money. */
const NET_SIGN: Readonly<Record<string, number>> = { '22': 1, '20': 1, '23': -1, '21': -1, '25': -1 };

/**
 * 交易汇总: count and amount per kind of the batch's transactions (reversed ones never happened and
 * are left out; a voided sale counts among the sales and its void among the voids), and the net the
 * settlement will count: sales and completions, less their voids and the refunds.
 */
export function batchSummary(lines: readonly BatchEntry[], heading: ReceiptHeading): string[] {
  const standing = lines.filter((l) => l.status !== 'reversed');
  const out = [...titled('交易汇总 TOTALS', heading), pair('类型 笔数', '金额')];
  for (const [type, kind] of Object.entries(KIND_OF_TYPE)) {
    const of = standing.filter((l) => l.type === type);
    if (of.length === 0) continue;
    const sum = of.reduce((a, l) => a + l.amountFen, 0);
    out.push(pair(`${short(kind)} ${of.length}`, `${NEGATIVE.has(kind) ? '-' : ''}${formatYuan(sum)}`));
  }
  const net = standing.reduce((a, l) => a + (NET_SIGN[l.type] ?? 0) * l.amountFen, 0);
  out.push(RULE, pair('结算净额 NET', `RMB ${formatYuan(net)}`), RULE);
  return printable(out);
}

/**
 * 结算单: what a settlement the host answered 00 came to, as the host counted it (0510 field 48, §4.6):
 * per card family the debits (sales and completions) and credits (refunds), and whether they agreed
 * with the terminal's. `at` is the acceptor's date (YYYY-MM-DD) and time (hhmmss).
 */
export function settlementSlip(s: Settlement, heading: Omit<ReceiptHeading, 'batch'>, at: ReceiptData['at'], reprint = false): string[] {
  const block = (name: string, digits: string): string[] => [
    pair(name, digits[30] === '1' ? '对账平 balanced' : '对账不平 NOT balanced'),
    pair(`消费 SALES ${Number(digits.slice(12, 15))}`, formatYuan(Number(digits.slice(0, 12)))),
    pair(`退货 REFUNDS ${Number(digits.slice(27, 30))}`, formatYuan(-Number(digits.slice(15, 27)))),
    RULE,
  ];
  const lines = [
    centre('结算单 SETTLEMENT'),
    ...(reprint ? [centre('重打印 REPRINT')] : []),
    `商户名称 ${heading.merchantName}`,
    pair('商户编号', heading.mid),
    pair('终端编号', heading.tid),
    pair('批次号', String(s.batch).padStart(6, '0')),
    pair('日期时间', stamp(at)),
    RULE,
    ...block('内卡 DOMESTIC', s.totals.slice(0, 31)),
    ...block('外卡 FOREIGN', s.totals.slice(31, 62)),
    ...(s.uploaded > 0 ? [pair('已上送 UPLOADED', `${s.uploaded} 笔`)] : []),
  ];
  return printable(lines);
}
