/**
 * A dialect is data: a table of field specifications that one generic engine packs and unpacks.
 * Lengths count digits for `n` and `z`, characters for `an`/`ans`, and bytes for `b`.
 */
export type FieldType = 'n' | 'an' | 'ans' | 'b' | 'z';
export type LengthKind = 'fixed' | 'LL' | 'LLL';
export type PrefixEncoding = 'bcd' | 'ascii' | 'binary';
/** `bcd`: packed digits; `ascii`: one character per byte; `binary`: raw bytes; `hex-ascii`: bytes as 2 hex characters each. */
export type DataEncoding = 'bcd' | 'ascii' | 'binary' | 'hex-ascii';

export interface SubfieldSpec {
  /** `60.1`, `61.3`… */
  readonly id: string;
  readonly name: string;
  /** digits or characters taken, in order, from the field value */
  readonly length: number;
}

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  readonly length: number;
  readonly prefix: LengthKind;
  /** defaults to the dialect's */
  readonly prefixEncoding?: PrefixEncoding;
  /** defaults to the dialect's encoding for the type */
  readonly encoding?: DataEncoding;
  /**
   * Where a packed BCD value with an odd digit count gets its pad nibble, and where fixed `an`/`ans`
   * values are padded: `right` = right-aligned (pad on the left). Default: fixed `n` right-aligned,
   * everything else left-aligned.
   */
  readonly align?: 'left' | 'right';
  /** `z` fields that may carry enciphered track bytes (any hex nibble), checked after decipherment. */
  readonly cipherNibbles?: boolean;
  readonly subfields?: readonly SubfieldSpec[];
  /** the value is BER-TLV (EMV data) */
  readonly tlv?: boolean;
}

export interface DialectSpec {
  readonly name: string;
  readonly description: string;
  readonly mtiEncoding: 'bcd' | 'ascii';
  readonly bitmapEncoding: 'binary' | 'hex-ascii';
  /** whether bit 1 announces a secondary bitmap (fields 65–128) */
  readonly secondaryBitmap: boolean;
  readonly prefixEncoding: PrefixEncoding;
  readonly encodings: Readonly<Record<FieldType, DataEncoding>>;
  /** `an` means letters, digits and space, or (UnionPay) any printable ASCII */
  readonly anCharset: 'alphanumeric' | 'printable';
  readonly fields: Readonly<Record<number, FieldSpec>>;
}
