import { describe, expect, it } from 'vitest';
import { inWindow, localTime, settlementDate } from '../../src/host/clock.js';
import { resolveMmdd } from '../../src/iso8583/index.js';

describe('merchant-local time, windows and settlement dates', () => {
  it('gives merchant-local fields 12 and 13 and the local day', () => {
    const t = Date.UTC(2026, 10, 21, 1, 30, 0); // 09:30 in Shanghai
    expect(localTime(t, 'Asia/Shanghai')).toEqual({ day: '2026-11-21', mmdd: '1121', hhmmss: '093000', hhmm: '0930', yymm: '2611' });
    expect(localTime(t, 'Europe/London').hhmm).toBe('0130');
    expect(localTime(t + 1000, 'Asia/Shanghai').hhmmss).toBe('093001');
  });

  it('rolls the settlement date at 23:00 China Standard Time', () => {
    expect(settlementDate(Date.UTC(2026, 10, 21, 14, 59, 59), 23)).toBe('1121'); // 22:59:59 CST
    expect(settlementDate(Date.UTC(2026, 10, 21, 15, 0, 0), 23)).toBe('1122'); // 23:00 CST
  });

  it('tells whether a time lies in a password-free window', () => {
    expect(inWindow('0900', '0900', '2200')).toBe(true);
    expect(inWindow('2200', '0900', '2200')).toBe(false);
    expect(inWindow('0130', '2200', '0600')).toBe(true); // spans midnight
    expect(inWindow('1200', '2200', '0600')).toBe(false);
    expect(inWindow('0317', '0000', '0000')).toBe(true); // all day
  });

  it('resolves 61.3 to the most recent such date not after today', () => {
    expect(resolveMmdd('1121', '2026-11-22')).toBe('2026-11-21');
    expect(resolveMmdd('1231', '2027-01-02')).toBe('2026-12-31');
  });
});
