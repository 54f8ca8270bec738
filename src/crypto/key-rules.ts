import { randomBytes } from 'node:crypto';

/**
 * Rules for generated DES/TDES keys (protocol §6.1): odd parity in every byte, no DES weak or
 * semi-weak half, and for 16-byte keys left half ≠ right half.
 */
const WEAK_AND_SEMI_WEAK = new Set(
  [
    '0101010101010101', 'FEFEFEFEFEFEFEFE', 'E0E0E0E0F1F1F1F1', '1F1F1F1F0E0E0E0E',
    '011F011F010E010E', '1F011F010E010E01', '01E001E001F101F1', 'E001E001F101F101',
    '01FE01FE01FE01FE', 'FE01FE01FE01FE01', '1FE01FE00EF10EF1', 'E01FE01FF10EF10E',
    '1FFE1FFE0EFE0EFE', 'FE1FFE1FFE0EFE0E', 'E0FEE0FEF1FEF1FE', 'FEE0FEE0FEF1FEF1',
  ],
);

export function withOddParity(key: Uint8Array): Buffer {
  const out = Buffer.from(key);
  for (let i = 0; i < out.length; i++) {
    let b = out[i]! & 0xfe;
    let ones = 0;
    for (let v = b; v; v &= v - 1) ones++;
    if (ones % 2 === 0) b |= 1;
    out[i] = b;
  }
  return out;
}

export function hasOddParity(key: Uint8Array): boolean {
  return withOddParity(key).equals(Buffer.from(key));
}

export function isWeakDesKey(half: Uint8Array): boolean {
  return WEAK_AND_SEMI_WEAK.has(withOddParity(half).toString('hex').toUpperCase());
}

/** A new DES (8), 2-key (16) or 3-key (24) TDES key from the CSPRNG that satisfies the rules above. */
export function generateTdesKey(length: 8 | 16 | 24 = 16): Buffer {
  for (;;) {
    const key = withOddParity(randomBytes(length));
    const halves: Buffer[] = [];
    for (let i = 0; i < length; i += 8) halves.push(key.subarray(i, i + 8));
    if (halves.some(isWeakDesKey)) continue;
    if (length >= 16 && halves[0]!.equals(halves[1]!)) continue;
    if (length === 24 && halves[1]!.equals(halves[2]!)) continue;
    return key;
  }
}
