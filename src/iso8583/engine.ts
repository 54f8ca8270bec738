import { Iso8583Error } from './errors.js';
import { FIELD_MAX, IsoMessage, type FieldValue } from './message.js';
import type { DataEncoding, DialectSpec, FieldSpec, PrefixEncoding } from './spec.js';

/**
 * The one engine behind every dialect. `compileDialect` turns a dialect table into per-field
 * codecs once; `pack` and `unpack` then walk the bitmap. Every read is bounds-checked against the
 * end of the input, every length against the field's maximum, so no input can make the engine read
 * past its buffer, allocate more than the input's size, or throw anything but an Iso8583Error.
 */

interface Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  /** offsets in errors are reported relative to this */
  readonly base: number;
}

class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

interface FieldCodec {
  readonly number: number;
  readonly spec: FieldSpec;
  unpack(r: Reader): FieldValue;
  pack(value: FieldValue, w: Writer): void;
}

export interface Dialect {
  readonly spec: DialectSpec;
  field(number: number): FieldSpec | undefined;
  /** Decodes one message occupying exactly `buf[start, end)`. */
  unpack(buf: Buffer, start?: number, end?: number): IsoMessage;
  /**
   * Decodes as far as the input allows: the fields before the first error, and the error. For a
   * host that must answer a malformed request when it can still read its MTI, STAN and terminal ID.
   */
  unpackPartial(buf: Buffer, start?: number, end?: number): { readonly message?: IsoMessage; readonly error?: Iso8583Error };
  pack(message: IsoMessage): Buffer;
}

const DIGIT_RE = /^[0-9]*$/;

// Decoding is table-driven: one look-up per byte both validates and yields the text, which is
// several times faster than a native hex/latin1 slice call per field for the short fields of
// ISO 8583. `undefined` marks a byte that is not valid for the table.
const HEX_DIGITS = '0123456789ABCDEF';
function pairTable(nibbleOk: (n: number) => boolean): (string | undefined)[] {
  const table: (string | undefined)[] = new Array(256);
  for (let b = 0; b < 256; b++) {
    if (nibbleOk(b >> 4) && nibbleOk(b & 15)) table[b] = HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!;
  }
  return table;
}
const DIGIT_PAIRS = pairTable((n) => n <= 9);
const TRACK_PAIRS = pairTable((n) => n <= 9 || n === 0x0d);
const HEX_PAIRS = pairTable(() => true);
const CHARS: string[] = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b));
function charTable(ok: (c: number) => boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let c = 0; c < 256; c++) table[c] = ok(c) ? 1 : 0;
  return table;
}
const ASCII_DIGITS = charTable((c) => c >= 48 && c <= 57);
const ASCII_TRACK = charTable((c) => (c >= 48 && c <= 57) || c === 61);
const PRINTABLE = charTable((c) => c >= 0x20 && c <= 0x7e);
const ALPHANUMERIC = charTable((c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 32);
/** ASCII hex character → nibble value, 255 for anything else. */
const HEX_VALUE = new Uint8Array(256).fill(255);
for (let i = 0; i < 16; i++) {
  HEX_VALUE[HEX_DIGITS.charCodeAt(i)] = i;
  HEX_VALUE[HEX_DIGITS.toLowerCase().charCodeAt(i)] = i;
}

/** Two ASCII hex characters (first << 8 | second) → the byte they spell, -1 for anything else. */
const HEX_PAIR_VALUE = new Int16Array(65536).fill(-1);
for (let hi = 0; hi < 256; hi++) {
  if (HEX_VALUE[hi] === 255) continue;
  for (let lo = 0; lo < 256; lo++) if (HEX_VALUE[lo] !== 255) HEX_PAIR_VALUE[(hi << 8) | lo] = (HEX_VALUE[hi]! << 4) | HEX_VALUE[lo]!;
}

/** Decodes `count` bytes written as hex characters at `at`; returns the offset of the first bad character, or -1. */
function readHexAscii(buf: Buffer, at: number, count: number, into: Uint8Array, intoAt: number): number {
  for (let i = 0, p = at; i < count; i++, p += 2) {
    const v = HEX_PAIR_VALUE[(buf[p]! << 8) | buf[p + 1]!]!;
    if (v < 0) return HEX_VALUE[buf[p]!] === 255 ? p : p + 1;
    into[intoAt + i] = v;
  }
  return -1;
}

/**
 * `Buffer#latin1Slice` is what `toString('latin1')` calls after checking its arguments; it exists on
 * every supported Node (20, 22, 24) but is missing from @types/node. Bounds are checked by the caller.
 */
const latin1 = (buf: Buffer, start: number, end: number): string => (buf as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(start, end);
/**
 * Measured on Node 20: up to 6 characters a table-driven concatenation is fastest; up to 20 a JS
 * check loop and one native slice; beyond, a native slice and a compiled character-class test.
 */
const SHORT_TEXT_MAX = 6;
const MEDIUM_TEXT_MAX = 20;
/** Below this many bytes a JS loop copies faster than Buffer#copy's native call. */
const COPY_LOOP_MAX = 32;

function fail(code: ConstructorParameters<typeof Iso8583Error>[0], field: number, r: Reader, at: number, expected: string): never {
  throw new Iso8583Error(code, field, at - r.base, expected);
}

function need(r: Reader, field: number, n: number, what: string): void {
  if (r.pos + n > r.end) fail('truncated', field, r, r.pos, `${n} more byte(s) of ${what}, ${r.end - r.pos} left`);
}

function unitsToBytes(units: number, encoding: DataEncoding): number {
  switch (encoding) {
    case 'bcd':
      return (units + 1) >> 1;
    case 'hex-ascii':
      return units * 2;
    default:
      return units;
  }
}

function prefixSize(kind: 'LL' | 'LLL', encoding: PrefixEncoding): number {
  if (encoding === 'ascii') return kind === 'LL' ? 2 : 3;
  if (encoding === 'bcd') return kind === 'LL' ? 1 : 2;
  return kind === 'LL' ? 1 : 2;
}

function readPrefix(r: Reader, field: number, kind: 'LL' | 'LLL', encoding: PrefixEncoding): number {
  const size = prefixSize(kind, encoding);
  need(r, field, size, 'length prefix');
  const { buf, pos } = r;
  let value = 0;
  if (encoding === 'binary') {
    value = size === 1 ? buf[pos]! : buf.readUInt16BE(pos);
  } else if (encoding === 'bcd') {
    for (let i = 0; i < size; i++) {
      const b = buf[pos + i]!;
      const hi = b >> 4;
      const lo = b & 0x0f;
      if (hi > 9 || lo > 9) fail('invalid_length_prefix', field, r, pos + i, 'BCD digits in the length prefix');
      value = value * 100 + hi * 10 + lo;
    }
  } else {
    for (let i = 0; i < size; i++) {
      const c = buf[pos + i]! - 48;
      if (c < 0 || c > 9) fail('invalid_length_prefix', field, r, pos + i, 'ASCII digits in the length prefix');
      value = value * 10 + c;
    }
  }
  r.pos += size;
  return value;
}

function writePrefix(w: Writer, kind: 'LL' | 'LLL', encoding: PrefixEncoding, value: number): void {
  const size = prefixSize(kind, encoding);
  w.ensure(size);
  if (encoding === 'binary') {
    if (size === 1) w.buf[w.pos] = value;
    else w.buf.writeUInt16BE(value, w.pos);
  } else if (encoding === 'bcd') {
    const digits = String(value).padStart(size * 2, '0');
    w.buf.write(digits, w.pos, 'hex');
  } else {
    w.buf.write(String(value).padStart(size, '0'), w.pos, 'latin1');
  }
  w.pos += size;
}

function valueError(field: number, expected: string): never {
  throw new Iso8583Error('invalid_value', field, 0, expected);
}

function compileField(number: number, spec: FieldSpec, dialect: DialectSpec): FieldCodec {
  const encoding = spec.encoding ?? dialect.encodings[spec.type];
  const prefixEncoding = spec.prefixEncoding ?? dialect.prefixEncoding;
  const fixed = spec.prefix === 'fixed';
  const max = spec.length;
  const align = spec.align ?? (fixed && spec.type === 'n' ? 'right' : 'left');
  const kind = spec.prefix === 'fixed' ? undefined : spec.prefix;
  const printable = spec.type === 'ans' || dialect.anCharset === 'printable';
  const isTrack = spec.type === 'z';
  const trackAscii = isTrack && encoding === 'ascii';

  // ---- unpack ----
  const readUnits = (r: Reader): number => {
    if (kind === undefined) return max;
    const units = readPrefix(r, number, kind, prefixEncoding);
    if (units > max) fail('length_exceeds_max', number, r, r.pos - prefixSize(kind, prefixEncoding), `at most ${max}, prefix says ${units}`);
    return units;
  };

  const pairs = isTrack ? (spec.cipherNibbles ? HEX_PAIRS : TRACK_PAIRS) : DIGIT_PAIRS;
  const nibbleOk = isTrack ? (spec.cipherNibbles ? () => true : (n: number) => n <= 9 || n === 0x0d) : (n: number) => n <= 9;

  /** The precise error for packed digits that failed the fast path. */
  const bcdError = (r: Reader, size: number, padFirst: boolean, padLast: boolean): never => {
    const { buf, pos } = r;
    const bad = isTrack ? 'invalid_character' : 'invalid_bcd';
    const want = isTrack ? 'track nibbles 0–9 or D' : 'BCD digits 0–9';
    for (let i = 0; i < size; i++) {
      const b = buf[pos + i]!;
      if (i === 0 && padFirst) {
        if (b >> 4 !== 0) fail('invalid_pad', number, r, pos, 'a 0 pad nibble before the digits');
      } else if (!nibbleOk(b >> 4)) fail(bad, number, r, pos + i, want);
      if (i === size - 1 && padLast) {
        if ((b & 0x0f) !== 0) fail('invalid_pad', number, r, pos + i, 'a 0 pad nibble after the digits');
      } else if (!nibbleOk(b & 0x0f)) fail(bad, number, r, pos + i, want);
    }
    throw new Error('unreachable: packed digits reported bad but none found');
  };

  const unpackBcd = (r: Reader, units: number): string => {
    const size = (units + 1) >> 1;
    if (r.pos + size > r.end) need(r, number, size, 'packed digits');
    const { buf, pos } = r;
    const odd = (units & 1) === 1;
    const padFirst = odd && align === 'right';
    const padLast = odd && align === 'left';
    let text = '';
    for (let i = 0; i < size; i++) {
      const pair = pairs[buf[pos + i]!];
      if (pair === undefined) bcdError(r, size, padFirst, padLast);
      text += pair;
    }
    if (padFirst && buf[pos]! >> 4 !== 0) bcdError(r, size, padFirst, padLast);
    if (padLast && (buf[pos + size - 1]! & 0x0f) !== 0) bcdError(r, size, padFirst, padLast);
    r.pos = pos + size;
    if (padFirst) return text.slice(1);
    if (padLast) return text.slice(0, units);
    return text;
  };

  const allowedChars = spec.type === 'n' ? ASCII_DIGITS : trackAscii ? ASCII_TRACK : printable ? PRINTABLE : ALPHANUMERIC;
  const unpackAsciiText = (r: Reader, units: number): string => {
    if (r.pos + units > r.end) need(r, number, units, 'characters');
    const { buf, pos } = r;
    let text: string;
    if (units > MEDIUM_TEXT_MAX) {
      // one native slice and one compiled character-class test beat a JS loop on long fields
      text = latin1(buf, pos, pos + units);
      if (!allowedRe.test(text)) badChar(r, units);
    } else if (units > SHORT_TEXT_MAX) {
      for (let i = 0; i < units; i++) if (allowedChars[buf[pos + i]!] === 0) badChar(r, units);
      text = latin1(buf, pos, pos + units);
    } else {
      text = '';
      for (let i = 0; i < units; i++) {
        const c = buf[pos + i]!;
        if (allowedChars[c] === 0) badChar(r, units);
        text += CHARS[c];
      }
    }
    r.pos = pos + units;
    return text;
  };
  const allowedRe = spec.type === 'n' ? /^[0-9]*$/ : trackAscii ? /^[0-9=]*$/ : printable ? /^[\x20-\x7e]*$/ : /^[0-9A-Za-z ]*$/;
  const badChar = (r: Reader, units: number): never => {
    for (let i = 0; i < units; i++) {
      if (allowedChars[r.buf[r.pos + i]!] === 0) fail(spec.type === 'n' ? 'invalid_bcd' : 'invalid_character', number, r, r.pos + i, expectedChars());
    }
    throw new Error('unreachable: text reported bad but no bad character found');
  };
  const expectedChars = (): string =>
    spec.type === 'n' ? 'ASCII digits' : trackAscii ? 'track characters 0–9 and =' : printable ? 'printable ASCII 0x20–0x7E' : 'letters, digits or space';

  const unpackBytes = (r: Reader, units: number): Buffer => {
    if (encoding === 'hex-ascii') {
      need(r, number, units * 2, 'hex characters');
      const out = Buffer.allocUnsafe(units);
      const bad = readHexAscii(r.buf, r.pos, units, out, 0);
      if (bad >= 0) fail('invalid_character', number, r, bad, 'hex characters');
      r.pos += units * 2;
      return out;
    }
    if (r.pos + units > r.end) need(r, number, units, 'bytes');
    const out = Buffer.allocUnsafe(units);
    const { buf, pos } = r;
    if (units <= COPY_LOOP_MAX) for (let i = 0; i < units; i++) out[i] = buf[pos + i]!;
    else buf.copy(out, 0, pos, pos + units);
    r.pos = pos + units;
    return out;
  };

  const unpack = (r: Reader): FieldValue => {
    const units = readUnits(r);
    if (spec.type === 'b') return unpackBytes(r, units);
    if (encoding === 'bcd') return unpackBcd(r, units);
    return unpackAsciiText(r, units);
  };

  // ---- pack ----
  const normalise = (value: FieldValue): FieldValue => {
    if (spec.type === 'b') {
      if (!Buffer.isBuffer(value)) valueError(number, 'bytes');
      if (fixed ? value.length !== max : value.length > max) valueError(number, fixed ? `exactly ${max} bytes` : `at most ${max} bytes`);
      return value;
    }
    if (typeof value !== 'string') valueError(number, 'text');
    let text = value;
    if (spec.type === 'n') {
      if (!DIGIT_RE.test(text)) valueError(number, 'digits 0–9');
      if (text.length > max) valueError(number, fixed ? `${max} digits` : `at most ${max} digits`);
      if (fixed) text = text.padStart(max, '0');
    } else if (isTrack) {
      text = text.toUpperCase().replace(/[=D]/g, trackAscii ? '=' : 'D');
      const allowed = trackAscii ? /^[0-9=]*$/ : spec.cipherNibbles ? /^[0-9A-F]*$/ : /^[0-9D]*$/;
      if (!allowed.test(text)) valueError(number, trackAscii ? 'track characters 0–9 and =' : 'track nibbles 0–9 and D');
      if (text.length > max) valueError(number, `at most ${max} track characters`);
    } else {
      const allowed = printable ? /^[\x20-\x7e]*$/ : /^[0-9A-Za-z ]*$/;
      if (!allowed.test(text)) valueError(number, printable ? 'printable ASCII' : 'letters, digits or space');
      if (text.length > max) valueError(number, `at most ${max} characters`);
      if (fixed) text = align === 'right' ? text.padStart(max, ' ') : text.padEnd(max, ' ');
    }
    return text;
  };

  const pack = (raw: FieldValue, w: Writer): void => {
    const value = normalise(raw);
    const units = value.length;
    if (kind !== undefined) writePrefix(w, kind, prefixEncoding, units);
    const size = unitsToBytes(units, encoding);
    w.ensure(size);
    if (Buffer.isBuffer(value)) {
      if (encoding === 'hex-ascii') w.buf.write(value.toString('hex').toUpperCase(), w.pos, 'latin1');
      else value.copy(w.buf, w.pos);
    } else if (encoding === 'bcd') {
      const nibbles = units & 1 ? (align === 'right' ? `0${value}` : `${value}0`) : value;
      w.buf.write(nibbles, w.pos, 'hex');
    } else {
      w.buf.write(value, w.pos, 'latin1');
    }
    w.pos += size;
  };

  return { number, spec, unpack, pack };
}

export function compileDialect(spec: DialectSpec): Dialect {
  const codecs: (FieldCodec | undefined)[] = new Array(FIELD_MAX + 1);
  for (const [key, field] of Object.entries(spec.fields)) {
    const n = Number(key);
    if (!Number.isInteger(n) || n < 2 || n > FIELD_MAX) throw new RangeError(`dialect ${spec.name}: no field ${key} in ISO 8583`);
    if (n > 64 && !spec.secondaryBitmap) throw new RangeError(`dialect ${spec.name}: field ${n} needs a secondary bitmap`);
    codecs[n] = compileField(n, field, spec);
  }
  const mtiSize = spec.mtiEncoding === 'bcd' ? 2 : 4;
  const bitmapSize = spec.bitmapEncoding === 'binary' ? 8 : 16;

  const readMti = (r: Reader): string => {
    need(r, 0, mtiSize, 'MTI');
    let text: string | undefined;
    if (spec.mtiEncoding === 'bcd') {
      const a = DIGIT_PAIRS[r.buf[r.pos]!];
      const b = DIGIT_PAIRS[r.buf[r.pos + 1]!];
      text = a !== undefined && b !== undefined ? a + b : undefined;
    } else {
      text = r.buf.toString('latin1', r.pos, r.pos + 4);
    }
    if (text === undefined || !/^[0-9]{4}$/.test(text)) fail('invalid_mti', 0, r, r.pos, '4 decimal digits');
    r.pos += mtiSize;
    return text;
  };

  const readBitmap = (r: Reader, into: Uint8Array, at: number): void => {
    need(r, 1, bitmapSize, 'bitmap');
    if (spec.bitmapEncoding === 'binary') {
      for (let i = 0; i < 8; i++) into[at + i] = r.buf[r.pos + i]!;
    } else {
      const bad = readHexAscii(r.buf, r.pos, 8, into, at);
      if (bad >= 0) fail('invalid_bitmap', 1, r, bad, '16 hex characters');
    }
    r.pos += bitmapSize;
  };

  const decodeInto = (r: Reader, into: (message: IsoMessage) => void): IsoMessage => {
    const message = new IsoMessage(readMti(r));
    into(message);
    const bitmap = new Uint8Array(16);
    const bitmapAt = r.pos;
    readBitmap(r, bitmap, 0);
    let last = 64;
    if (bitmap[0]! & 0x80) {
      if (!spec.secondaryBitmap) fail('unknown_field', 1, r, bitmapAt, `no secondary bitmap in the ${spec.name} dialect`);
      readBitmap(r, bitmap, 8);
      last = 128;
    }
    for (let byte = 0; byte < last >> 3; byte++) {
      const bits = bitmap[byte]!;
      if (bits === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        if ((bits & (0x80 >> bit)) === 0) continue;
        const n = byte * 8 + bit + 1;
        if (n === 1) continue;
        const codec = codecs[n];
        if (codec === undefined) fail('unknown_field', n, r, bitmapAt, `only fields the ${spec.name} dialect defines`);
        message.setDecoded(n, codec.unpack(r));
      }
    }
    if (r.pos !== r.end) fail('trailing_bytes', FIELD_MAX, r, r.pos, `the message to end after its last field (${r.end - r.pos} byte(s) left)`);
    return message;
  };

  const reader = (buf: Buffer, start: number, end: number): Reader => {
    if (start < 0 || end > buf.length || start > end) throw new RangeError('unpack range outside the buffer');
    return { buf, pos: start, end, base: start };
  };

  const unpack = (buf: Buffer, start = 0, end = buf.length): IsoMessage => decodeInto(reader(buf, start, end), () => {});

  const unpackPartial = (buf: Buffer, start = 0, end = buf.length): { message?: IsoMessage; error?: Iso8583Error } => {
    let partial: IsoMessage | undefined;
    try {
      return { message: decodeInto(reader(buf, start, end), (m) => (partial = m)) };
    } catch (error) {
      if (error instanceof Iso8583Error) return { ...(partial ? { message: partial } : {}), error };
      throw error;
    }
  };

  const pack = (message: IsoMessage): Buffer => {
    if (!/^[0-9]{4}$/.test(message.mti)) throw new Iso8583Error('invalid_mti', 0, 0, '4 decimal digits');
    const numbers = message.fieldNumbers();
    const secondary = numbers.length > 0 && numbers[numbers.length - 1]! > 64;
    const w = new Writer(512);
    w.ensure(mtiSize + bitmapSize * 2);
    if (spec.mtiEncoding === 'bcd') w.buf.write(message.mti, w.pos, 'hex');
    else w.buf.write(message.mti, w.pos, 'latin1');
    w.pos += mtiSize;
    const bitmap = Buffer.alloc(secondary ? 16 : 8);
    if (secondary) bitmap[0]! |= 0x80;
    for (const n of numbers) {
      if (codecs[n] === undefined) throw new Iso8583Error('unknown_field', n, 0, `only fields the ${spec.name} dialect defines`);
      bitmap[(n - 1) >> 3]! |= 0x80 >> ((n - 1) & 7);
    }
    if (spec.bitmapEncoding === 'binary') bitmap.copy(w.buf, w.pos);
    else w.buf.write(bitmap.toString('hex').toUpperCase(), w.pos, 'latin1');
    w.pos += secondary ? bitmapSize * 2 : bitmapSize;
    for (const n of numbers) codecs[n]!.pack(message.get(n)!, w);
    return w.result();
  };

  return {
    spec,
    field: (n) => spec.fields[n],
    unpack,
    unpackPartial,
    pack,
  };
}
