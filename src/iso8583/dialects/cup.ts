import type { DialectSpec } from '../spec.js';

/**
 * The `cup` dialect: UnionPay direct-connect POS terminals, exactly as in
 * shared/protocol/terminal-iso8583.md §2–§4. BCD digits and length prefixes, ASCII text, binary
 * bytes; a primary bitmap only. Any field not listed here makes a message undecodable.
 */
export const cupDialect: DialectSpec = {
  name: 'cup',
  description: 'UnionPay direct-connect POS (posgate terminal protocol)',
  mtiEncoding: 'bcd',
  bitmapEncoding: 'binary',
  secondaryBitmap: false,
  prefixEncoding: 'bcd',
  encodings: { n: 'bcd', z: 'bcd', an: 'ascii', ans: 'ascii', b: 'binary' },
  anCharset: 'printable',
  fields: {
    2: { name: 'primary account number', type: 'n', length: 19, prefix: 'LL' },
    3: { name: 'processing code', type: 'n', length: 6, prefix: 'fixed' },
    4: { name: 'amount, fen', type: 'n', length: 12, prefix: 'fixed' },
    11: { name: 'system trace audit number', type: 'n', length: 6, prefix: 'fixed' },
    12: { name: 'local time hhmmss', type: 'n', length: 6, prefix: 'fixed' },
    13: { name: 'local date MMDD', type: 'n', length: 4, prefix: 'fixed' },
    14: { name: 'card expiry YYMM', type: 'n', length: 4, prefix: 'fixed' },
    15: { name: 'settlement date MMDD', type: 'n', length: 4, prefix: 'fixed' },
    // §2: field 22 is the one fixed numeric field that is left-aligned (021 → 02 10).
    22: { name: 'POS entry mode', type: 'n', length: 3, prefix: 'fixed', align: 'left' },
    23: { name: 'card sequence number', type: 'n', length: 3, prefix: 'fixed' },
    25: { name: 'POS condition code', type: 'n', length: 2, prefix: 'fixed' },
    26: { name: 'PIN capture code', type: 'n', length: 2, prefix: 'fixed' },
    32: { name: 'acquiring institution ID', type: 'n', length: 11, prefix: 'LL' },
    // §6.6: enciphered tracks carry any nibble; the host checks the digits after decipherment.
    35: { name: 'track 2 data', type: 'z', length: 37, prefix: 'LL', cipherNibbles: true },
    36: { name: 'track 3 data', type: 'z', length: 104, prefix: 'LLL', cipherNibbles: true },
    37: { name: 'retrieval reference number', type: 'an', length: 12, prefix: 'fixed' },
    38: { name: 'authorization ID', type: 'an', length: 6, prefix: 'fixed' },
    39: { name: 'response code', type: 'an', length: 2, prefix: 'fixed' },
    41: { name: 'terminal ID', type: 'ans', length: 8, prefix: 'fixed' },
    42: { name: 'merchant ID', type: 'ans', length: 15, prefix: 'fixed' },
    44: {
      name: 'additional response data',
      type: 'an',
      length: 25,
      prefix: 'LL',
      subfields: [
        { id: '44.1', name: 'issuer ID', length: 11 },
        { id: '44.2', name: 'acquirer ID', length: 11 },
      ],
    },
    48: { name: 'additional data, private', type: 'n', length: 322, prefix: 'LLL' },
    49: { name: 'currency code', type: 'an', length: 3, prefix: 'fixed' },
    52: { name: 'PIN data', type: 'b', length: 8, prefix: 'fixed' },
    53: {
      name: 'security control information',
      type: 'n',
      length: 16,
      prefix: 'fixed',
      subfields: [
        { id: '53.1', name: 'PIN block format', length: 1 },
        { id: '53.2', name: 'encryption algorithm', length: 1 },
        { id: '53.3', name: 'track encryption', length: 1 },
        { id: '53.4', name: 'reserved', length: 13 },
      ],
    },
    54: {
      name: 'balance',
      type: 'an',
      length: 20,
      prefix: 'LLL',
      subfields: [
        { id: '54.1', name: 'account type', length: 2 },
        { id: '54.2', name: 'amount type', length: 2 },
        { id: '54.3', name: 'currency', length: 3 },
        { id: '54.4', name: 'sign', length: 1 },
        { id: '54.5', name: 'amount, fen', length: 12 },
      ],
    },
    55: { name: 'ICC data', type: 'b', length: 255, prefix: 'LLL', tlv: true },
    59: { name: 'acquirer private data', type: 'ans', length: 999, prefix: 'LLL' },
    60: {
      name: 'reserved private',
      type: 'n',
      length: 19,
      prefix: 'LLL',
      subfields: [
        { id: '60.1', name: 'message type code', length: 2 },
        { id: '60.2', name: 'batch number', length: 6 },
        { id: '60.3', name: 'network management code', length: 3 },
        { id: '60.4', name: 'terminal read capability', length: 1 },
        { id: '60.5', name: 'chip condition', length: 1 },
        { id: '60.6', name: 'partial approval', length: 1 },
        { id: '60.7', name: 'account type', length: 3 },
      ],
    },
    61: {
      name: 'original transaction data',
      type: 'n',
      length: 29,
      prefix: 'LLL',
      subfields: [
        { id: '61.1', name: 'original batch number', length: 6 },
        { id: '61.2', name: 'original STAN', length: 6 },
        { id: '61.3', name: 'original date MMDD', length: 4 },
        { id: '61.4', name: 'authorization method', length: 2 },
        { id: '61.5', name: 'authorizing institution', length: 11 },
      ],
    },
    62: { name: 'reserved private', type: 'b', length: 999, prefix: 'LLL' },
    63: { name: 'reserved private', type: 'ans', length: 163, prefix: 'LLL', subfields: [{ id: '63.1', name: 'operator / card organisation', length: 3 }] },
    64: { name: 'MAC', type: 'b', length: 8, prefix: 'fixed' },
  },
};
