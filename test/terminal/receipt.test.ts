import { describe, expect, it } from 'vitest';
import { displayWidth, formatYuan, receipt, type ReceiptData } from '../../src/terminal/index.js';

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
