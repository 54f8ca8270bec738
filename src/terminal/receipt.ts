/**
 * Receipts (签购单) for a 58 mm printer: 32 columns, where a CJK character takes two. Merchant and
 * cardholder copies; the PAN is masked; a password-free payment under the no-signature limit
 * prints 免密免签 instead of a signature line.
 */
export const RECEIPT_COLUMNS = 32;

export interface ReceiptData {
  readonly merchantName: string;
  readonly mid: string;
  readonly tid: string;
  readonly operator: string;
  readonly kind: 'sale' | 'void' | 'refund' | 'preauth' | 'completion' | 'balance';
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
}

const TITLES: Record<ReceiptData['kind'], string> = {
  sale: '消费 SALE',
  void: '消费撤销 VOID',
  refund: '退货 REFUND',
  preauth: '预授权 PRE-AUTH',
  completion: '预授权完成 COMPLETION',
  balance: '余额查询 BALANCE',
};

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
  const rule = '-'.repeat(RECEIPT_COLUMNS);
  const negative = data.kind === 'void' || data.kind === 'refund';
  const lines = [
    centre('POS签购单'),
    centre(copy === 'merchant' ? '商户存根 MERCHANT COPY' : '持卡人存根 CARDHOLDER COPY'),
    rule,
    `商户名称 ${data.merchantName}`,
    pair('商户编号', data.mid),
    pair('终端编号', data.tid),
    pair('操作员号', data.operator),
    rule,
    pair('卡号', data.panMasked),
    pair('卡组织', data.cardOrg),
    pair('交易类型', TITLES[data.kind]),
    pair('输入方式', data.entry),
    pair('批次号', String(data.batch).padStart(6, '0')),
    pair('凭证号', data.stan),
    pair('授权码', data.authCode || '-'),
    pair('参考号', data.rrn),
    pair('日期时间', stamp(data.at)),
    rule,
    pair('金额 AMOUNT', `RMB ${negative ? '-' : ''}${formatYuan(data.amountFen)}`),
    rule,
  ];
  if (copy === 'merchant') {
    if (data.passwordFree && data.noSignature) lines.push(centre('免密免签'), centre('NO PIN, NO SIGNATURE'));
    else lines.push('持卡人签名 CARDHOLDER SIGNATURE', '', '', rule, '本人确认以上交易，同意将其记入本卡账户');
  } else if (data.passwordFree && data.noSignature) lines.push(centre('免密免签'));
  return lines.flatMap((l) => l.split('\n')).flatMap(wrap);
}
