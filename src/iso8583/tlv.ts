import { EMV_TAG_NAMES } from './emv-tags.js';
import { Iso8583Error } from './errors.js';

/** A BER-TLV data object; `children` is set for constructed tags (bit 6 of the first tag byte). */
export interface Tlv {
  /** upper-case hex, e.g. `9F26` */
  readonly tag: string;
  readonly value: Buffer;
  readonly children?: readonly Tlv[];
}

const DEPTH_MAX = 4;
const TAG_BYTES_MAX = 4;

/**
 * Decodes BER-TLV as EMV uses it (EMV Book 3 Annex B): 1–3 byte tags, definite lengths in short
 * form or 0x81–0x83 long form, 0x00 padding between objects ignored. Errors name the field and the
 * absolute byte offset (`base` is the offset of `data` within the frame).
 */
export function decodeTlv(data: Uint8Array, field = 55, base = 0): Tlv[] {
  return decodeLevel(Buffer.from(data.buffer, data.byteOffset, data.byteLength), 0, data.length, field, base, 0);
}

function decodeLevel(buf: Buffer, start: number, end: number, field: number, base: number, depth: number): Tlv[] {
  if (depth > DEPTH_MAX) throw new Iso8583Error('invalid_tlv', field, base + start, `constructed objects nested at most ${DEPTH_MAX} deep`);
  const out: Tlv[] = [];
  let pos = start;
  while (pos < end) {
    if (buf[pos] === 0x00) {
      pos++;
      continue;
    }
    const tagStart = pos;
    const first = buf[pos++]!;
    if ((first & 0x1f) === 0x1f) {
      for (;;) {
        if (pos >= end) throw new Iso8583Error('invalid_tlv', field, base + pos, 'the rest of a multi-byte tag');
        const b = buf[pos++]!;
        if (pos - tagStart > TAG_BYTES_MAX) throw new Iso8583Error('invalid_tlv', field, base + tagStart, `a tag of at most ${TAG_BYTES_MAX} bytes`);
        if ((b & 0x80) === 0) break;
      }
    }
    const tag = buf.toString('hex', tagStart, pos).toUpperCase();
    if (pos >= end) throw new Iso8583Error('invalid_tlv', field, base + pos, `a length for tag ${tag}`);
    let length = buf[pos++]!;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 3) throw new Iso8583Error('invalid_tlv', field, base + pos - 1, 'a definite length of at most 3 length bytes');
      if (pos + count > end) throw new Iso8583Error('invalid_tlv', field, base + pos, `${count} length byte(s) for tag ${tag}`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + buf[pos++]!;
    }
    if (pos + length > end) throw new Iso8583Error('invalid_tlv', field, base + pos, `${length} value byte(s) for tag ${tag}, ${end - pos} left`);
    const value = Buffer.from(buf.subarray(pos, pos + length));
    const constructed = (first & 0x20) !== 0;
    out.push(constructed ? { tag, value, children: decodeLevel(buf, pos, pos + length, field, base, depth + 1) } : { tag, value });
    pos += length;
  }
  return out;
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length <= 0xff) return Buffer.from([0x81, length]);
  if (length <= 0xffff) return Buffer.from([0x82, length >> 8, length & 0xff]);
  throw new RangeError('TLV value too long');
}

export function encodeTlv(objects: readonly Tlv[]): Buffer {
  const parts: Buffer[] = [];
  for (const o of objects) {
    if (!/^([0-9A-F]{2})+$/.test(o.tag)) throw new RangeError(`TLV tag ${o.tag} is not hex bytes`);
    const value = o.children ? encodeTlv(o.children) : o.value;
    parts.push(Buffer.from(o.tag, 'hex'), encodeLength(value.length), value);
  }
  return Buffer.concat(parts);
}

export function emvTagName(tag: string): string | undefined {
  return EMV_TAG_NAMES[tag];
}
