import { describe, expect, it } from 'vitest';
import { RrnGenerator } from '../../src/host/rrn.js';

describe('retrieval reference numbers (field 37)', () => {
  it('are 12 characters: year digit, milliseconds into the year, node id, counter', () => {
    const rrn = new RrnGenerator('7');
    const t = Date.UTC(2026, 10, 22, 4, 30, 0);
    const first = rrn.next(t);
    expect(first).toMatch(/^[0-9][0-9A-Z]{7}7[0-9A-Z]{3}$/);
    expect(first[0]).toBe('6');
    expect(parseInt(first.slice(1, 8), 36)).toBe(t - Date.UTC(2026, 0, 1));
    expect(first.slice(9)).toBe('000');
  });

  it('never repeat within a millisecond, nor when the clock steps back', () => {
    const rrn = new RrnGenerator('A');
    const t = Date.UTC(2026, 5, 1);
    const seen = new Set([rrn.next(t), rrn.next(t), rrn.next(t - 5000), rrn.next(t)]);
    expect(seen.size).toBe(4);
  });

  it('start counting again from zero at each new year, in UTC', () => {
    const rrn = new RrnGenerator('1');
    const lastOf2026 = rrn.next(Date.UTC(2027, 0, 1) - 1);
    expect(lastOf2026[0]).toBe('6');
    const firstOf2027 = rrn.next(Date.UTC(2027, 0, 1));
    expect(firstOf2027.slice(0, 8)).toBe('70000000');
    expect(rrn.next(Date.UTC(2027, 0, 1, 0, 0, 1)).slice(0, 8)).toBe(`7${(1000).toString(36).toUpperCase().padStart(7, '0')}`);
  });
});
