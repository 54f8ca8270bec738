import { tdesEcb } from './block-cipher.js';
import { CryptoInputError } from './errors.js';
import { requireDigits } from './hex.js';
import { withOddParity } from './key-rules.js';
import { iso9797Alg3 } from './mac.js';

/**
 * EMV application cryptograms (EMV 4.x Book 2, §8.1–8.2 and Annex A1), as an issuer checks them:
 *
 * - the card's master key for application cryptograms from the issuer master key, Option A (A1.4.1);
 * - the session key of one transaction from the card's master key and its ATC, Common Session Key
 *   derivation (A1.3.1) with R = ATC ‖ 00 00 00 00 00 00;
 * - the cryptogram (ARQC, TC, AAC): ISO 9797-1 MAC algorithm 3 with padding method 2 under the
 *   session key, over the data the card was given (CDOL1) and its own (AIP, ATC, CVR);
 * - the issuer's answer (ARPC), method 1: 3DES under the session key of ARQC ⊕ (ARC ‖ 00…00).
 *
 * The same functions serve the card side of the simulated chip cards the software terminal reads.
 */

/** EMV Option A: Y = the rightmost 16 digits of PAN ‖ PSN; MK = 3DES(IMK)[Y] ‖ 3DES(IMK)[Y ⊕ FF…FF], odd parity. */
export function deriveIccMasterKey(issuerMasterKey: Uint8Array, pan: string, psn = '00'): Buffer {
  requireDigits(pan, 'PAN', 12, 19);
  requireDigits(psn, 'PAN sequence number', 2, 2);
  if (issuerMasterKey.length !== 16) throw new CryptoInputError('invalid_key_length', `an issuer master key is a 16-byte TDES key, got ${issuerMasterKey.length}`);
  const digits = `${pan}${psn}`.padStart(16, '0').slice(-16);
  const y = Buffer.from(digits, 'hex');
  const inverted = Buffer.from(y.map((b) => b ^ 0xff));
  return withOddParity(tdesEcb(issuerMasterKey).encrypt(Buffer.concat([y, inverted])));
}

/** EMV Common Session Key derivation: SK = 3DES(MK)[R with byte 3 = F0] ‖ 3DES(MK)[R with byte 3 = 0F], odd parity. */
export function deriveCommonSessionKey(iccMasterKey: Uint8Array, r: Uint8Array): Buffer {
  if (iccMasterKey.length !== 16) throw new CryptoInputError('invalid_key_length', `an ICC master key is a 16-byte TDES key, got ${iccMasterKey.length}`);
  if (r.length !== 8) throw new CryptoInputError('invalid_length', `the diversification value R is 8 bytes, got ${r.length}`);
  const left = Buffer.from(r);
  left[2] = 0xf0;
  const right = Buffer.from(r);
  right[2] = 0x0f;
  return withOddParity(tdesEcb(iccMasterKey).encrypt(Buffer.concat([left, right])));
}

/** The session key for application cryptograms of the transaction with this ATC (2 bytes). */
export function applicationCryptogramSessionKey(iccMasterKey: Uint8Array, atc: Uint8Array): Buffer {
  if (atc.length !== 2) throw new CryptoInputError('invalid_length', `an ATC is 2 bytes, got ${atc.length}`);
  const r = Buffer.alloc(8);
  r.set(atc);
  return deriveCommonSessionKey(iccMasterKey, r);
}

/** An application cryptogram: ISO 9797-1 MAC algorithm 3, padding method 2, under the session key. */
export function applicationCryptogram(sessionKey: Uint8Array, data: Uint8Array): Buffer {
  return iso9797Alg3(sessionKey, data, 2);
}

/** ARPC method 1: 3DES(key)[ARQC ⊕ (ARC ‖ 00 00 00 00 00 00)]; ARC is the 2-byte authorisation response code. */
export function arpcMethod1(key: Uint8Array, arqc: Uint8Array, arc: Uint8Array): Buffer {
  if (arqc.length !== 8) throw new CryptoInputError('invalid_length', `an ARQC is 8 bytes, got ${arqc.length}`);
  if (arc.length !== 2) throw new CryptoInputError('invalid_length', `an ARC is 2 bytes, got ${arc.length}`);
  const x = Buffer.from(arqc);
  x[0]! ^= arc[0]!;
  x[1]! ^= arc[1]!;
  return tdesEcb(key).encrypt(x);
}

/**
 * The data an ARQC covers, in this order (EMV Book 2 §8.1.1's recommended minimum): amount
 * authorised 9F02, amount other 9F03 (zeros when absent), terminal country 9F1A, TVR 95, currency
 * 5F2A, date 9A, type 9C, unpredictable number 9F37, AIP 82, ATC 9F36, and the card verification
 * results from the issuer application data 9F10 (its bytes 4–7, as in Visa CVN 10 and PBOC).
 * Undefined when a tag is missing or has the wrong length.
 */
export function arqcData(tag: (name: string) => Buffer | undefined): Buffer | undefined {
  const parts: Buffer[] = [];
  const take = (name: string, length: number, absent?: Buffer): boolean => {
    const value = tag(name) ?? absent;
    if (!value || value.length !== length) return false;
    parts.push(value);
    return true;
  };
  const ok =
    take('9F02', 6) &&
    take('9F03', 6, Buffer.alloc(6)) &&
    take('9F1A', 2) &&
    take('95', 5) &&
    take('5F2A', 2) &&
    take('9A', 3) &&
    take('9C', 1) &&
    take('9F37', 4) &&
    take('82', 2) &&
    take('9F36', 2);
  const iad = tag('9F10');
  if (!ok || !iad || iad.length < 7) return undefined;
  parts.push(iad.subarray(3, 7));
  return Buffer.concat(parts);
}
