import type { BlockCipher } from './block-cipher.js';
import { CryptoInputError } from './errors.js';
import { requireDigits } from './hex.js';

/**
 * Visa-style decimalisation: the decimal digits of the hex string left to right, then, if more are
 * needed, the digits A–F (as 0–5) left to right. Used by PVV and CVV.
 */
export function decimalizeVisa(hex: string, count: number): string {
  let out = '';
  for (const c of hex) if (c <= '9') out += c;
  if (out.length < count) for (const c of hex) if (c > '9') out += String(parseInt(c, 16) - 10);
  return out.slice(0, count);
}

/** Visa PIN Verification Value: TSP = 11 PAN digits left of the check digit ‖ PVKI ‖ first 4 PIN digits. */
export function visaPvv(pvk: BlockCipher, pan: string, pvki: string, pin: string): string {
  requireDigits(pan, 'PAN', 12, 19);
  requireDigits(pvki, 'PVKI', 1, 1);
  requireDigits(pin, 'PIN', 4, 12);
  const tsp = pan.slice(-12, -1) + pvki + pin.slice(0, 4);
  const enc = pvk.encrypt(Buffer.from(tsp, 'hex')).toString('hex').toUpperCase();
  return decimalizeVisa(enc, 4);
}

export const DEFAULT_DECIMALIZATION_TABLE = '0123456789012345';

/** IBM 3624 validation data by default: the 12 PAN digits left of the check digit, padded with F to 16. */
export function defaultValidationData(pan: string): string {
  requireDigits(pan, 'PAN', 13, 19);
  return pan.slice(-13, -1).padEnd(16, 'F');
}

function ibm3624Intermediate(pvk: BlockCipher, validationData: string, decTable: string): string {
  requireDigits(decTable, 'decimalisation table', 16, 16);
  if (!/^[0-9A-Fa-f]{16}$/.test(validationData)) {
    throw new CryptoInputError('invalid_validation_data', 'validation data must be 16 hex digits');
  }
  const enc = pvk.encrypt(Buffer.from(validationData, 'hex')).toString('hex');
  let out = '';
  for (const c of enc) out += decTable[parseInt(c, 16)];
  return out;
}

/** The IBM 3624 natural PIN of the given length. */
export function ibm3624NaturalPin(pvk: BlockCipher, validationData: string, decTable: string, length: number): string {
  if (length < 4 || length > 12) throw new CryptoInputError('invalid_digits', 'PIN length must be 4 to 12');
  return ibm3624Intermediate(pvk, validationData, decTable).slice(0, length);
}

/** Offset = customer PIN − natural PIN, digit by digit, modulo 10. */
export function ibm3624Offset(pvk: BlockCipher, validationData: string, decTable: string, pin: string): string {
  requireDigits(pin, 'PIN', 4, 12);
  const natural = ibm3624NaturalPin(pvk, validationData, decTable, pin.length);
  let out = '';
  for (let i = 0; i < pin.length; i++) out += String((10 + Number(pin[i]) - Number(natural[i])) % 10);
  return out;
}

/** The customer PIN that an offset yields: natural PIN + offset, digit by digit, modulo 10. */
export function ibm3624PinFromOffset(pvk: BlockCipher, validationData: string, decTable: string, offset: string): string {
  requireDigits(offset, 'offset', 4, 12);
  const natural = ibm3624NaturalPin(pvk, validationData, decTable, offset.length);
  let out = '';
  for (let i = 0; i < offset.length; i++) out += String((Number(natural[i]) + Number(offset[i])) % 10);
  return out;
}

/**
 * Card verification value (Visa CVV / Mastercard CVC, also CVV2 with service code 000 and iCVV with
 * 999): PAN ‖ expiry ‖ service code, zero-filled to 32 digits; the left half under key A, XOR the
 * right half, then 3DES under A‖B; decimalise, 3 digits. `cvkA` is single DES A; `cvk` is A‖B.
 */
export function cardVerificationValue(cvkA: BlockCipher, cvk: BlockCipher, pan: string, expiryYymm: string, serviceCode: string): string {
  requireDigits(pan, 'PAN', 12, 19);
  requireDigits(expiryYymm, 'expiry (YYMM)', 4, 4);
  requireDigits(serviceCode, 'service code', 3, 3);
  const block = (pan + expiryYymm + serviceCode).padEnd(32, '0');
  const left = cvkA.encrypt(Buffer.from(block.slice(0, 16), 'hex'));
  const right = Buffer.from(block.slice(16), 'hex');
  for (let i = 0; i < 8; i++) left[i]! ^= right[i]!;
  return decimalizeVisa(cvk.encrypt(left).toString('hex').toUpperCase(), 3);
}
