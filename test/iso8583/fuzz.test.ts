import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cup, iso87ascii, Iso8583Error, packCupFrame, unpackCupFrame, type Dialect } from '../../src/iso8583/index.js';
import { mutate, xorshift } from '../support/mutate.js';
import { message } from './arbitraries.js';

function onlyTypedErrors(decode: () => unknown, counts: { ok: number; typed: number }): void {
  try {
    decode();
    counts.ok++;
  } catch (err) {
    if (!(err instanceof Iso8583Error)) throw err;
    counts.typed++;
  }
}

describe.each([
  ['cup', cup],
  ['iso87ascii', iso87ascii],
] as [string, Dialect][])('%s fuzz: unpack sees only typed errors', (name, dialect) => {
  const seeds = fc.sample(message(dialect), { numRuns: 200, seed: 8583 }).map((m) => dialect.pack(m));

  it('120,000 mutated valid messages', () => {
    const rnd = xorshift(0x5eed + name.length);
    const counts = { ok: 0, typed: 0 };
    for (let i = 0; i < 120_000; i++) onlyTypedErrors(() => dialect.unpack(mutate(seeds[i % seeds.length]!, rnd)), counts);
    expect(counts.ok + counts.typed).toBe(120_000);
    expect(counts.typed).toBeGreaterThan(10_000); // mutations really do break messages
  });

  it('60,000 random byte strings', () => {
    const rnd = xorshift(0xf00d + name.length);
    const counts = { ok: 0, typed: 0 };
    for (let i = 0; i < 60_000; i++) {
      const bytes = Buffer.allocUnsafe(rnd() % 300);
      for (let j = 0; j < bytes.length; j++) bytes[j] = rnd() & 0xff;
      onlyTypedErrors(() => dialect.unpack(bytes), counts);
    }
    expect(counts.ok + counts.typed).toBe(60_000);
  });
});

describe('cup canonical encoding', () => {
  it('every mutated message that decodes re-encodes to exactly the same bytes', () => {
    const seeds = fc.sample(message(cup), { numRuns: 100, seed: 1987 }).map((m) => cup.pack(m));
    const rnd = xorshift(0xbeef);
    let decoded = 0;
    for (let i = 0; i < 40_000; i++) {
      const bytes = mutate(seeds[i % seeds.length]!, rnd);
      let m;
      try {
        m = cup.unpack(bytes);
      } catch (err) {
        if (err instanceof Iso8583Error) continue;
        throw err;
      }
      decoded++;
      expect(cup.pack(m).equals(bytes)).toBe(true);
    }
    expect(decoded).toBeGreaterThan(1000);
  });
});

describe('cup frames fuzz', () => {
  it('60,000 mutated framed messages decode or fail with a typed error', () => {
    const seeds = fc.sample(message(cup), { numRuns: 100, seed: 4096 }).map((m) =>
      packCupFrame(cup, { tpdu: { id: '60', destination: '0003', source: '0000' }, header: { applicationType: '60', specVersion: '31', terminalStatus: '0', processingRequest: '0', subVersion: '010200' }, message: m }, true),
    );
    const rnd = xorshift(0xc0ffee);
    const counts = { ok: 0, typed: 0 };
    for (let i = 0; i < 60_000; i++) onlyTypedErrors(() => unpackCupFrame(cup, mutate(seeds[i % seeds.length]!, rnd), true), counts);
    expect(counts.ok + counts.typed).toBe(60_000);
  });
});
