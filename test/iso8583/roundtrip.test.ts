import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cup, iso87ascii, messageFromJson, messageToJson, type Dialect, type IsoMessage } from '../../src/iso8583/index.js';
import { message } from './arbitraries.js';

function same(a: IsoMessage, b: IsoMessage): void {
  expect(b.mti).toBe(a.mti);
  expect(b.fieldNumbers()).toEqual(a.fieldNumbers());
  for (const n of a.fieldNumbers()) {
    const x = a.get(n)!;
    const y = b.get(n)!;
    if (Buffer.isBuffer(x)) expect(Buffer.isBuffer(y) && x.equals(y)).toBe(true);
    else expect(y).toBe(x);
  }
}

describe.each([
  ['cup', cup],
  ['iso87ascii', iso87ascii],
] as [string, Dialect][])('%s round trips (property)', (_name, dialect) => {
  it('unpack(pack(m)) equals m for any valid message', () => {
    fc.assert(fc.property(message(dialect), (m) => same(m, dialect.unpack(dialect.pack(m)))), { numRuns: 1500 });
  });

  it('pack(unpack(bytes)) gives back the same bytes', () => {
    fc.assert(
      fc.property(message(dialect), (m) => {
        const bytes = dialect.pack(m);
        expect(dialect.pack(dialect.unpack(bytes)).equals(bytes)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('the JSON form round-trips: JSON → bytes → the same JSON', () => {
    fc.assert(
      fc.property(message(dialect), (m) => {
        const json = JSON.parse(JSON.stringify(messageToJson(dialect, m)));
        const bytes = dialect.pack(messageFromJson(dialect, json));
        expect(messageToJson(dialect, dialect.unpack(bytes))).toEqual(json);
      }),
      { numRuns: 500 },
    );
  });
});
