import type { Dialect } from './engine.js';
import { Iso8583Error } from './errors.js';
import { IsoMessage, type FieldValue } from './message.js';
import type { FieldSpec } from './spec.js';
import { decodeTlv, emvTagName, encodeTlv, type Tlv } from './tlv.js';

/**
 * The JSON form of a message used by `posgate iso decode --json` and read by `posgate iso encode`:
 * each field is a string (digits for n, track nibbles for z, text for an/ans, upper-case hex for b),
 * or an object holding that string as `value` beside its sub-fields or decoded TLVs. On input only
 * `value` counts (a TLV field given only as `tlv` is encoded from it); everything else is derived.
 */
export interface TlvJson {
  tag: string;
  name?: string;
  value: string;
  children?: TlvJson[];
}

export type FieldJson = string | { value: string; tlv?: TlvJson[]; tlv_error?: string; [subfield: string]: unknown };

export interface MessageJson {
  mti: string;
  fields: Record<string, FieldJson>;
}

function tlvToJson(list: readonly Tlv[]): TlvJson[] {
  return list.map((t) => {
    const name = emvTagName(t.tag);
    const out: TlvJson = { tag: t.tag, ...(name ? { name } : {}), value: t.value.toString('hex').toUpperCase() };
    if (t.children) out.children = tlvToJson(t.children);
    return out;
  });
}

function tlvFromJson(list: readonly TlvJson[], field: number): Tlv[] {
  return list.map((t) => {
    if (typeof t?.tag !== 'string') throw new Iso8583Error('invalid_value', field, 0, 'TLV objects with a tag');
    if (t.children) return { tag: t.tag.toUpperCase(), value: Buffer.alloc(0), children: tlvFromJson(t.children, field) };
    if (typeof t.value !== 'string' || !/^([0-9A-Fa-f]{2})*$/.test(t.value)) throw new Iso8583Error('invalid_value', field, 0, `hex bytes as the value of TLV ${t.tag}`);
    return { tag: t.tag.toUpperCase(), value: Buffer.from(t.value, 'hex') };
  });
}

export function fieldValueText(value: FieldValue): string {
  return typeof value === 'string' ? value : value.toString('hex').toUpperCase();
}

export function fieldToJson(number: number, spec: FieldSpec, value: FieldValue): FieldJson {
  const text = fieldValueText(value);
  if (spec.subfields) {
    const out: { value: string; [k: string]: unknown } = { value: text };
    let at = 0;
    for (const sub of spec.subfields) {
      if (at + sub.length > text.length) break;
      out[sub.id] = text.slice(at, at + sub.length);
      at += sub.length;
    }
    return out;
  }
  if (spec.tlv && Buffer.isBuffer(value)) {
    try {
      return { value: text, tlv: tlvToJson(decodeTlv(value, number)) };
    } catch (err) {
      if (err instanceof Iso8583Error) return { value: text, tlv_error: err.message };
      throw err;
    }
  }
  return text;
}

export function fieldFromJson(number: number, spec: FieldSpec, input: unknown): FieldValue {
  let text: unknown = input;
  if (typeof input === 'object' && input !== null) {
    const obj = input as { value?: unknown; tlv?: unknown };
    if (obj.value === undefined && spec.tlv && Array.isArray(obj.tlv)) return encodeTlv(tlvFromJson(obj.tlv as TlvJson[], number));
    text = obj.value;
  }
  if (typeof text !== 'string') throw new Iso8583Error('invalid_value', number, 0, 'a string, or an object with a string "value"');
  if (spec.type === 'b') {
    const hex = text.replace(/\s+/g, '');
    if (!/^([0-9A-Fa-f]{2})*$/.test(hex)) throw new Iso8583Error('invalid_value', number, 0, 'hex bytes');
    return Buffer.from(hex, 'hex');
  }
  return text;
}

export function messageToJson(dialect: Dialect, message: IsoMessage): MessageJson {
  const fields: Record<string, FieldJson> = {};
  for (const n of message.fieldNumbers()) fields[String(n)] = fieldToJson(n, dialect.field(n)!, message.get(n)!);
  return { mti: message.mti, fields };
}

export function messageFromJson(dialect: Dialect, input: unknown): IsoMessage {
  if (typeof input !== 'object' || input === null) throw new Iso8583Error('invalid_value', undefined, 0, 'a JSON object with "mti" and "fields"');
  const { mti, fields } = input as { mti?: unknown; fields?: unknown };
  if (typeof mti !== 'string') throw new Iso8583Error('invalid_mti', 0, 0, 'an "mti" string of 4 digits');
  if (typeof fields !== 'object' || fields === null) throw new Iso8583Error('invalid_value', undefined, 0, 'a "fields" object');
  const message = new IsoMessage(mti);
  for (const [key, value] of Object.entries(fields)) {
    const n = Number(key);
    const spec = Number.isInteger(n) ? dialect.field(n) : undefined;
    if (spec === undefined) throw new Iso8583Error('unknown_field', Number.isInteger(n) ? n : undefined, 0, `only fields the ${dialect.spec.name} dialect defines`);
    message.set(n, fieldFromJson(n, spec, value));
  }
  return message;
}
