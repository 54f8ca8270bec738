import { describe, expect, it } from 'vitest';
import { batchDetail, batchSummary, displayWidth, formatYuan, receipt, receiptOf, settlementSlip, type BatchEntry, type ReceiptData } from '../../src/terminal/index.js';

const base: ReceiptData = {
  merchantName: 'posgate 演示商户 (demo)',
  mid: '898310054110001',
  tid: '30000001',
  operator: '01',
  kind: 'sale',
  panMasked: '622424******0113',
  entry: '挥卡 tap',
  amountFen: 123_456,
  batch: 1,
  stan: '000004',
  rrn: '6CWFRPHE0000',
  authCode: '403920',
  at: { date: '2026-11-22', time: '093000' },
  cardOrg: 'CUP',
  passwordFree: false,
  noSignature: false,
};

describe('receipts for a 58 mm printer', () => {
  it('never exceed 32 columns, counting a Chinese character as two', () => {
    for (const copy of ['merchant', 'cardholder'] as const) for (const line of receipt(base, copy)) expect(displayWidth(line)).toBeLessThanOrEqual(32);
  });

  it('show the masked card number and never the full one', () => {
    const text = receipt(base, 'merchant').join('\n');
    expect(text).toContain('622424******0113');
    expect(text).not.toContain('6224242900000113');
    expect(text).toContain('RMB 1,234.56');
    expect(text).toContain('商户存根 MERCHANT COPY');
    expect(text).toContain('持卡人签名');
    expect(text).toContain('日期时间     2026/11/22 09:30:00');
  });

  it('print 免密免签 instead of a signature line for password-free payments under the limit', () => {
    const text = receipt({ ...base, passwordFree: true, noSignature: true }, 'merchant').join('\n');
    expect(text).toContain('免密免签');
    expect(text).not.toContain('持卡人签名');
    expect(receipt({ ...base, passwordFree: true, noSignature: true }, 'cardholder').join('\n')).toContain('免密免签');
  });

  it('show voids and refunds as negative amounts', () => {
    expect(receipt({ ...base, kind: 'refund', amountFen: 500 }, 'cardholder').join('\n')).toContain('RMB -5.00');
    expect(formatYuan(0)).toBe('0.00');
    expect(formatYuan(-123)).toBe('-1.23');
  });
});

describe('what a POS prints from its batch log', () => {
  const heading = { merchantName: 'posgate 演示商户 (demo)', mid: '898310054110001', tid: '30000001', batch: 12 };
  const line = (stan: string, type: string, amountFen: number, status: BatchEntry['status'] = 'approved'): BatchEntry => ({
    stan,
    type,
    amountFen,
    panMasked: '622424******0113',
    pan: '6224242900000113',
    rrn: `RRN${stan}000`,
    authCode: '403920',
    date: '1231',
    time: '235959',
    cardOrg: 'CUP',
    entry: 'tap',
    operator: '02',
    passwordFree: true,
    noSignature: true,
    status,
  });

  it('a receipt again, as first printed but marked as a reprint, dated in the year the line was made', () => {
    const data = receiptOf(line('000031', '22', 8_800), heading, '2027-01-02', true);
    const text = receipt(data, 'merchant').join('\n');
    expect(text).toContain('重打印凭证 REPRINT');
    expect(text).toContain('日期时间     2026/12/31 23:59:59'); // 31 December, printed on 2 January
    expect(text).toContain('批次号                    000012');
    expect(text).toContain('操作员号                      02');
    expect(text).toContain('挥卡 tap');
    expect(text).toContain('免密免签');
    expect(receipt(receiptOf(line('000031', '22', 8_800), heading, '2027-01-02'), 'merchant').join('\n')).not.toContain('REPRINT');
  });

  it('a line from a state file written before the log kept the time and entry mode: printed as unknown, not made up', () => {
    const { time: _time, entry: _entry, ...older } = line('000002', '22', 6_600);
    const text = receipt(receiptOf(older, heading, '2026-11-23', true), 'merchant').join('\n');
    expect(text).toContain('日期时间     2025/12/31 --:--:--'); // its MMDD 1231, printed on 23 November 2026
    expect(text).toMatch(/输入方式\s+-\n/);
  });

  it('each kind under its own title, money given back printed negative', () => {
    const title = (type: string) => receipt(receiptOf(line('000001', type, 500), heading, '2027-01-02'), 'cardholder').join('\n');
    expect(title('11')).toContain('预授权撤销 PRE-AUTH VOID');
    expect(title('11')).toContain('RMB -5.00');
    expect(title('21')).toContain('完成撤销 COMPLETION VOID');
    expect(title('21')).toContain('RMB -5.00');
    expect(title('20')).toContain('RMB 5.00');
  });

  it('the batch\'s transactions and totals, whose net is what the settlement counts', () => {
    const log = [line('000004', '22', 10_000, 'voided'), line('000005', '23', 10_000), line('000006', '22', 2_500), line('000007', '25', 700), line('000008', '22', 999, 'reversed'), line('000009', '10', 50_000)];
    const detail = batchDetail(log, heading).join('\n');
    expect(detail).toMatch(/000004 消费 已撤销\s+100\.00/);
    expect(detail).toMatch(/000005 消费撤销\s+-100\.00/);
    expect(detail).toMatch(/000008 消费 已冲正\s+9\.99/);
    expect(detail).not.toContain('6224242900000113');
    const totals = batchSummary(log, heading).join('\n');
    expect(totals).toMatch(/消费 2\s+125\.00/); // the reversed sale never happened; the voided one did, and so did its void
    expect(totals).toMatch(/消费撤销 1\s+-100\.00/);
    expect(totals).toMatch(/退货 1\s+-7\.00/);
    expect(totals).toMatch(/预授权 1\s+500\.00/);
    expect(totals).toMatch(/结算净额 NET\s+RMB 18\.00/); // 25.00 − 7.00: the settlement's debit less its credit
    for (const l of [...batchDetail(log, heading), ...batchSummary(log, heading)]) expect(displayWidth(l)).toBeLessThanOrEqual(32);
    expect(batchDetail([], heading).join('\n')).toContain('无交易 no transactions');
  });
});

describe('the settlement slip (结算单)', () => {
  it('shows the host\'s counts per card family and whether each agreed, within 32 columns', () => {
    // 0510 field 48: domestic 3 debits ¥1,234.56 and 1 credit ¥7.00, balanced; foreign 1 debit ¥88.00, not balanced
    const totals = `000000123456003000000000700001${'1'}000000008800001000000000000000${'2'}`;
    const slip = settlementSlip({ rc: '00', balanced: false, batch: 41, totals, uploaded: 5 }, { merchantName: 'posgate 演示商户 (demo)', mid: '898310054110001', tid: '30000001' }, { date: '2026-11-23', time: '230501' });
    const text = slip.join('\n');
    expect(text).toMatch(/批次号\s+000041/);
    expect(text).toMatch(/日期时间\s+2026\/11\/23 23:05:01/);
    expect(text).toMatch(/内卡 DOMESTIC\s+对账平 balanced\n消费 SALES 3\s+1,234\.56\n退货 REFUNDS 1\s+-7\.00/);
    expect(text).toMatch(/外卡 FOREIGN\s+对账不平 NOT balanced\n消费 SALES 1\s+88\.00\n退货 REFUNDS 0\s+0\.00/);
    expect(text).toMatch(/已上送 UPLOADED\s+5 笔/);
    for (const l of slip) expect(displayWidth(l)).toBeLessThanOrEqual(32);
  });
});
