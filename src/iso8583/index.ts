/**
 * ISO 8583: dialect tables, the one engine that packs and unpacks any of them, BER-TLV, the CUP
 * terminal framing and the JSON form used by the CLI.
 */
import { compileDialect, type Dialect } from './engine.js';
import { cupDialect } from './dialects/cup.js';
import { iso87AsciiDialect } from './dialects/iso87ascii.js';

export { compileDialect, type Dialect } from './engine.js';
export { Iso8583Error, type Iso8583ErrorCode } from './errors.js';
export { IsoMessage, type FieldValue } from './message.js';
export type { DataEncoding, DialectSpec, FieldSpec, FieldType, LengthKind, PrefixEncoding, SubfieldSpec } from './spec.js';
export { resolveMmdd } from './dates.js';
export { decodeTlv, emvTagName, encodeTlv, type Tlv } from './tlv.js';
export {
  decodeHeader,
  decodeTpdu,
  encodeHeader,
  encodeTpdu,
  FRAME_LENGTH_MAX,
  FRAME_LENGTH_MIN,
  MTI_OFFSET_FRAMED,
  packCupFrame,
  swapTpdu,
  unpackCupFrame,
  type CupFrame,
  type CupHeader,
  type Tpdu,
} from './cup-frame.js';
export { fieldFromJson, fieldToJson, fieldValueText, messageFromJson, messageToJson, type FieldJson, type MessageJson, type TlvJson } from './json.js';
export { cupDialect, iso87AsciiDialect };

export const cup: Dialect = compileDialect(cupDialect);
export const iso87ascii: Dialect = compileDialect(iso87AsciiDialect);

export const DIALECTS: Readonly<Record<string, Dialect>> = { cup, iso87ascii };
