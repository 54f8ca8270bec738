import { CryptoInputError } from './errors.js';

const HEX_RE = /^[0-9A-Fa-f]*$/;
const DIGITS_RE = /^[0-9]*$/;

/** Parses hex for a named input; `lengths` lists the byte lengths accepted (any when omitted). */
export function parseHex(input: string, what: string, lengths?: readonly number[]): Buffer {
  const text = input.replace(/\s+/g, '');
  if (!HEX_RE.test(text) || text.length % 2 !== 0) {
    throw new CryptoInputError('invalid_hex', `${what} must be an even number of hex digits`);
  }
  const bytes = Buffer.from(text, 'hex');
  if (lengths && !lengths.includes(bytes.length)) {
    const want = lengths.map((n) => `${n * 2}`).join(' or ');
    throw new CryptoInputError('invalid_length', `${what} must be ${want} hex digits, got ${text.length}`);
  }
  return bytes;
}

export function requireDigits(input: string, what: string, min: number, max: number): string {
  if (!DIGITS_RE.test(input) || input.length < min || input.length > max) {
    const range = min === max ? `${min}` : `${min} to ${max}`;
    throw new CryptoInputError('invalid_digits', `${what} must be ${range} decimal digits`);
  }
  return input;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}

export function xor(a: Uint8Array, b: Uint8Array): Buffer {
  if (a.length !== b.length) throw new RangeError(`xor of ${a.length} and ${b.length} bytes`);
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Constant-time comparison for MACs, check values and verification values. */
export { timingSafeEqual } from 'node:crypto';
