import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cup, iso87ascii, Iso8583Error, packCupFrame, unpackCupFrame, type Dialect } from '../../src/iso8583/index.js';
import { message } from './arbitraries.js';

/** A tiny deterministic PRNG so that a failure reproduces from the printed seed. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function mutate(seed: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(seed);
  const edits = 1 + (rnd() % 4);
  let buf = out;
  for (let e = 0; e < edits; e++) {
    const at = buf.length ? rnd() % buf.length : 0;
    switch (rnd() % 6) {
      case 0: // flip a bit
        if (buf.length) buf[at]! ^= 1 << (rnd() % 8);
        break;
      case 1: // set a random byte
        if (buf.length) buf[at] = rnd() & 0xff;
        break;
      case 2: // truncate
        buf = buf.subarray(0, at);
        break;
      case 3: // insert bytes
        buf = Buffer.concat([buf.subarray(0, at), Buffer.from([rnd() & 0xff, rnd() & 0xff]), buf.subarray(at)]);
        break;
      case 4: // extreme length-prefix-like values
        if (buf.length) buf[at] = [0x00, 0x99, 0xff, 0x09, 0x90][rnd() % 5]!;
        break;
      default: // duplicate a slice
        buf = Buffer.concat([buf, buf.subarray(at, at + (rnd() % 16))]);
    }
  }
  return buf;
}

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
