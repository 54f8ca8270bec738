import fc from 'fast-check';
import { IsoMessage, type Dialect, type FieldSpec } from '../../src/iso8583/index.js';

const chars = (alphabet: string, min: number, max: number) =>
  fc.array(fc.constantFrom(...alphabet.split('')), { minLength: min, maxLength: max }).map((a) => a.join(''));

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ';

/** A valid value for a field, in the canonical form unpack returns. Long fields are capped to keep runs fast. */
export function fieldValue(dialect: Dialect, spec: FieldSpec): fc.Arbitrary<string | Buffer> {
  const fixed = spec.prefix === 'fixed';
  const max = Math.min(spec.length, 120);
  const min = fixed ? spec.length : 0;
  const top = fixed ? spec.length : max;
  switch (spec.type) {
    case 'n':
      return chars('0123456789', min, top);
    case 'z': {
      const ascii = dialect.spec.encodings.z === 'ascii';
      return chars(ascii ? '0123456789=' : spec.cipherNibbles ? '0123456789ABCDEF' : '0123456789D', min, top);
    }
    case 'an':
      return chars(dialect.spec.anCharset === 'printable' ? PRINTABLE : ALNUM, min, top);
    case 'ans':
      return chars(PRINTABLE, min, top);
    case 'b':
      return fc.uint8Array({ minLength: min, maxLength: top }).map((a) => Buffer.from(a));
  }
}

export function message(dialect: Dialect): fc.Arbitrary<IsoMessage> {
  const numbers = Object.keys(dialect.spec.fields).map(Number);
  return fc
    .record({
      mti: chars('0123456789', 4, 4),
      chosen: fc.subarray(numbers, { minLength: 0, maxLength: Math.min(numbers.length, 30) }),
    })
    .chain(({ mti, chosen }) =>
      fc.tuple(...chosen.map((n) => fieldValue(dialect, dialect.field(n)!))).map((values) => {
        const m = new IsoMessage(mti);
        chosen.forEach((n, i) => m.set(n, values[i]!));
        return m;
      }),
    );
}
