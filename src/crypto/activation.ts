import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { CryptoInputError } from './errors.js';

/**
 * Remote TMK loading of the posgate activation message (protocol §10.1): ECDH P-256 between an
 * ephemeral terminal key and an ephemeral host key; K = HKDF-SHA256(Z, 32 zero bytes of salt,
 * "posgate/901/v1" ‖ TID ‖ MID ‖ request field 62 ‖ host public key, 32 bytes); the TMK travels
 * under AES-256-GCM with K, additional data TID ‖ MID.
 */
export const ACTIVATION_INFO_LABEL = 'posgate/901/v1';

export function activationInfo(tid: string, mid: string, request62: Uint8Array, hostPublicKey: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(ACTIVATION_INFO_LABEL, 'latin1'), Buffer.from(tid, 'latin1'), Buffer.from(mid.padEnd(15, ' '), 'latin1'), request62, hostPublicKey]);
}

export function activationKey(sharedSecret: Uint8Array, info: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', sharedSecret, Buffer.alloc(32), info, 32));
}

export function activationAad(tid: string, mid: string): Buffer {
  return Buffer.from(tid + mid.padEnd(15, ' '), 'latin1');
}

export function sealTmk(key: Uint8Array, nonce: Uint8Array, tmk: Uint8Array, aad: Uint8Array): { ciphertext: Buffer; tag: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(tmk), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/** The terminal side: null when the tag does not verify. */
export function openTmk(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array): Buffer | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce).setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return null;
  }
}

export interface ActivationRequest {
  readonly serial: string;
  readonly code: string;
  readonly publicKey: Buffer;
}

/** §10.1: a serial number is 1–32 printable ASCII characters, no spaces; a one-time code is 12 digits. */
const SERIAL = /^[\x21-\x7e]{1,32}$/;
const CODE = /^[0-9]{12}$/;

/** Parses request field 62: 01 ‖ n ‖ serial ‖ m ‖ code ‖ P-256 public key (65 bytes). Null when malformed. */
export function parseActivationRequest(field62: Buffer): ActivationRequest | null {
  if (field62.length < 3 || field62[0] !== 0x01) return null;
  const n = field62[1]!;
  if (n < 1 || n > 32 || field62.length < 2 + n + 1) return null;
  const serial = field62.subarray(2, 2 + n).toString('latin1');
  if (!SERIAL.test(serial)) return null;
  const m = field62[2 + n]!;
  const codeAt = 3 + n;
  if (m !== 12 || field62.length !== codeAt + m + 65) return null;
  const code = field62.subarray(codeAt, codeAt + m).toString('latin1');
  if (!CODE.test(code)) return null;
  const publicKey = field62.subarray(codeAt + m);
  if (publicKey[0] !== 0x04) return null;
  return { serial, code, publicKey: Buffer.from(publicKey) };
}

/** Request field 62 as parseActivationRequest reads it; a serial or code it would refuse is an input error. */
export function buildActivationRequest(serial: string, code: string, publicKey: Uint8Array): Buffer {
  if (!SERIAL.test(serial)) throw new CryptoInputError('invalid_serial', 'a serial number is 1 to 32 printable characters, no spaces');
  if (!CODE.test(code)) throw new CryptoInputError('invalid_code', 'an activation code is 12 digits');
  return Buffer.concat([Buffer.from([0x01, serial.length]), Buffer.from(serial, 'latin1'), Buffer.from([code.length]), Buffer.from(code, 'latin1'), publicKey]);
}
