import { describe, expect, it } from 'vitest';
import { cup, iso87ascii, Iso8583Error, IsoMessage, unpackCupFrame } from '../../src/iso8583/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** MTI 0200 + bitmap with exactly `field` set, followed by `body`. */
function cupWith(field: number, body: string): Buffer {
  const bitmap = Buffer.alloc(8);
  bitmap[(field - 1) >> 3] = 0x80 >> ((field - 1) & 7);
  return Buffer.concat([hex('0200'), bitmap, hex(body)]);
}

function errorOf(fn: () => unknown): Iso8583Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof Iso8583Error) return err;
    throw err;
  }
  throw new Error('expected an Iso8583Error');
}

describe('cup: every field type refuses malformed input with field, offset and expectation', () => {
  it.each([
    // [what, field, body, code, offset]
    ['n fixed: a non-BCD nibble', 3, '00A000', 'invalid_bcd', 11],
    ['n fixed: truncated', 4, '000000', 'truncated', 10],
    ['n fixed odd, right-aligned: pad nibble not 0', 23, '1001', 'invalid_pad', 10],
    ['n fixed odd, left-aligned (22): pad nibble not 0', 22, '0211', 'invalid_pad', 11],
    ['n LL: non-BCD length prefix', 2, '1A6224242900000113', 'invalid_length_prefix', 10],
    ['n LL: length above the maximum', 2, '20622424290000011300', 'length_exceeds_max', 10],
    ['n LL odd: pad nibble not 0', 2, '13622424290000011F', 'invalid_pad', 17],
    ['n LLL: runs past the end', 60, '0014220000010006', 'truncated', 12],
    ['z LL: pad nibble not 0', 35, '036225', 'invalid_pad', 12],
    ['z LL: length above 37', 35, '38' + '62'.repeat(19), 'length_exceeds_max', 10],
    ['an fixed: a control character', 39, '3007', 'invalid_character', 11],
    ['an fixed: truncated', 37, '313132', 'truncated', 10],
    ['ans fixed: a byte above 0x7E', 41, '33303030303030FF', 'invalid_character', 17],
    ['ans LLL: length above 163', 63, '0200' + '41'.repeat(200), 'length_exceeds_max', 10],
    ['b fixed: truncated PIN block', 52, '23B72AC5781BA1', 'truncated', 10],
    ['b LLL: length above 255', 55, '0256' + '00'.repeat(256), 'length_exceeds_max', 10],
    ['b LLL: runs past the end', 62, '0060' + '00'.repeat(10), 'truncated', 12],
  ])('%s', (_what, field, body, code, offset) => {
    const err = errorOf(() => cup.unpack(cupWith(field, body)));
    expect(err.code).toBe(code);
    expect(err.field).toBe(field);
    expect(err.offset).toBe(offset);
    expect(err.expected.length).toBeGreaterThan(0);
  });

  it('a bitmap bit for a field the dialect does not have (5, 1) is unknown_field', () => {
    expect(errorOf(() => cup.unpack(cupWith(5, '000000000001'))).code).toBe('unknown_field');
    const secondary = Buffer.concat([hex('0200'), hex('8000000000000000'), hex('0000000000000000')]);
    expect(errorOf(() => cup.unpack(secondary))).toMatchObject({ code: 'unknown_field', field: 1 });
  });

  it('bytes after the last field are trailing_bytes', () => {
    expect(errorOf(() => cup.unpack(cupWith(3, '00000000'))).code).toBe('trailing_bytes');
  });

  it('an MTI that is not BCD is invalid_mti', () => {
    expect(errorOf(() => cup.unpack(hex('02A0 0000000000000000'))).code).toBe('invalid_mti');
  });

  it('frames: LEN that disagrees, too short, not-BCD TPDU', () => {
    const ok = hex('0015 6000030000 603100010200 0800 0000000000000000');
    expect(unpackCupFrame(cup, ok, true).message.mti).toBe('0800');
    expect(errorOf(() => unpackCupFrame(cup, ok.subarray(0, ok.length - 1), true)).code).toBe('truncated');
    expect(errorOf(() => unpackCupFrame(cup, Buffer.concat([ok, hex('00')]), true)).code).toBe('trailing_bytes');
    expect(errorOf(() => unpackCupFrame(cup, hex('0005 6000030000'), true)).code).toBe('truncated');
    const badTpdu = Buffer.from(ok);
    badTpdu[2] = 0x6a;
    expect(errorOf(() => unpackCupFrame(cup, badTpdu, true)).code).toBe('invalid_bcd');
  });

  it('offsets in frame errors count from the first byte handed over', () => {
    const frame = hex('0017 6000030000 603100010200 0200 2000000000000000 00A0');
    expect(errorOf(() => unpackCupFrame(cup, frame, true))).toMatchObject({ code: 'truncated', field: 3, offset: 23 });
  });
});

describe('pack refuses values that do not fit the field', () => {
  it.each([
    ['n with a letter', 11, '00000A'],
    ['n too long', 3, '0000000'],
    ['z with a letter other than D/=', 35, '6224X'],
    ['an with a non-printable character', 39, '0\u0001'],
    ['ans too long', 41, '123456789'],
    ['b of the wrong length', 52, Buffer.alloc(7)],
    ['b given as text', 64, 'DD493AC3'],
  ])('%s', (_what, field, value) => {
    const m = new IsoMessage('0200').set(field, value);
    expect(errorOf(() => cup.pack(m))).toMatchObject({ code: 'invalid_value', field });
  });

  it('pads a short amount with zeros and a short an field with spaces', () => {
    const m = cup.unpack(cup.pack(new IsoMessage('0210', { 4: '1234', 38: 'AB12' })));
    expect(m.get(4)).toBe('000000001234');
    expect(m.get(38)).toBe('AB12  ');
  });
});

describe('iso87ascii: every field type refuses malformed input', () => {
  const ascii = (s: string) => Buffer.from(s, 'latin1');
  it.each([
    ['n fixed: a letter', '0200' + '2000000000000000' + '00A000', 'invalid_bcd', 3],
    ['n LL: prefix not digits', '0200' + '4000000000000000' + '1X4111111111111111', 'invalid_length_prefix', 2],
    ['z LL: a letter in the track', '0200' + '0000000020000000' + '054111X', 'invalid_character', 35],
    ['an: punctuation', '0200' + '0000000008000000' + '37-123456789', 'invalid_character', 37],
    ['b: not hex', '0200' + '0000000000001000' + '23B72AC5781BA1ZZ', 'invalid_character', 52],
    ['ans LLL: runs past the end', '0200' + '0000000000000020' + '010ABC', 'truncated', 59],
    ['bitmap: not hex', '0200' + '00000000000000G0', 'invalid_bitmap', 1],
  ])('%s', (_what, text, code, field) => {
    expect(errorOf(() => iso87ascii.unpack(ascii(text)))).toMatchObject({ code, field });
  });

  it('decodes a 0200 with a secondary bitmap and re-encodes the same bytes', () => {
    const m = new IsoMessage('0200', {
      2: '4111111111111111', 3: '000000', 4: '000000010000', 7: '1122093000', 11: '000123', 14: '2812',
      22: '051', 35: '4111111111111111=28121010000000000', 37: '112209300001', 41: 'TERM0001', 42: 'MERCHANT0000001',
      49: '156', 52: Buffer.from('23B72AC5781BA141', 'hex'), 70: '301', 128: Buffer.from('0102030405060708', 'hex'),
    });
    const bytes = iso87ascii.pack(m);
    expect(bytes.toString('latin1', 0, 4)).toBe('0200');
    const back = iso87ascii.unpack(bytes);
    expect(back.fieldNumbers()).toEqual([2, 3, 4, 7, 11, 14, 22, 35, 37, 41, 42, 49, 52, 70, 128]);
    expect(back.get(35)).toBe('4111111111111111=28121010000000000');
    expect(iso87ascii.pack(back).equals(bytes)).toBe(true);
    // bit 1 (secondary bitmap present) is set in the first hex digit of the primary bitmap
    expect(parseInt(bytes.toString('latin1', 4, 5), 16) & 0x8).toBe(0x8);
  });
});
