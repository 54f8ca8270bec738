import { aesEcb, tdesEcb } from './block-cipher.js';
import { CryptoInputError } from './errors.js';

/**
 * DUKPT key derivation on the host side (from the BDK), as in:
 * - ANSI X9.24-1:2009 Annex A (TDES DUKPT): 10-byte KSN, 21-bit transaction counter;
 * - ANSI X9.24-3:2017 (AES DUKPT): 12-byte KSN = 8-byte initial key ID ‖ 32-bit counter.
 * Returned keys are clear bytes for the HSM module and the calculator CLI; nothing else calls these.
 */

const TDES_COUNTER_BITS = 21;

function bitCount(n: number): number {
  let count = 0;
  for (let v = n; v !== 0; v &= v - 1) count++;
  return count;
}

function checkTdesKsn(ksn: Uint8Array): void {
  if (ksn.length !== 10) throw new CryptoInputError('invalid_ksn', `a TDES DUKPT KSN is 10 bytes (20 hex digits), got ${ksn.length}`);
}

function xorC0(key: Uint8Array): Buffer {
  const out = Buffer.from(key);
  for (const i of [0, 1, 2, 3, 8, 9, 10, 11]) out[i]! ^= 0xc0;
  return out;
}

/** The initial key (IPEK) of a TDES DUKPT device: the BDK and its C0 variant encrypt the initial KSN. */
export function tdesDukptIpek(bdk: Uint8Array, ksn: Uint8Array): Buffer {
  if (bdk.length !== 16) throw new CryptoInputError('invalid_key_length', `a TDES DUKPT BDK is 16 bytes, got ${bdk.length}`);
  checkTdesKsn(ksn);
  const iksn = Buffer.from(ksn.subarray(0, 8));
  iksn[7]! &= 0xe0;
  return Buffer.concat([tdesEcb(bdk).encrypt(iksn), tdesEcb(xorC0(bdk)).encrypt(iksn)]);
}

/** X9.24-1 "non-reversible key generation process". */
function nonReversible(key: Buffer, ksnRight8: Buffer): Buffer {
  const derive = (k: Buffer): Buffer => {
    const right = k.subarray(8, 16);
    const x = Buffer.allocUnsafe(8);
    for (let i = 0; i < 8; i++) x[i] = ksnRight8[i]! ^ right[i]!;
    const e = tdesEcb(k.subarray(0, 8)).encrypt(x);
    for (let i = 0; i < 8; i++) e[i]! ^= right[i]!;
    return e;
  };
  const rightHalf = derive(key);
  const leftHalf = derive(xorC0(key));
  return Buffer.concat([leftHalf, rightHalf]);
}

/** The current transaction key for a KSN, before any variant is applied. */
export function tdesDukptTransactionKey(ipek: Uint8Array, ksn: Uint8Array): Buffer {
  checkTdesKsn(ksn);
  const counter = ((ksn[7]! & 0x1f) << 16) | (ksn[8]! << 8) | ksn[9]!;
  if (bitCount(counter) > 10) throw new CryptoInputError('invalid_ksn', 'the KSN counter has more than 10 bits set');
  let key: Buffer = Buffer.from(ipek);
  const reg = Buffer.from(ksn.subarray(2, 10));
  reg[5]! &= 0xe0;
  reg[6] = 0;
  reg[7] = 0;
  for (let bit = TDES_COUNTER_BITS - 1; bit >= 0; bit--) {
    const mask = 1 << bit;
    if ((counter & mask) === 0) continue;
    reg[5]! |= (mask >>> 16) & 0x1f;
    reg[6]! |= (mask >>> 8) & 0xff;
    reg[7]! |= mask & 0xff;
    key = nonReversible(key, reg);
  }
  return key;
}

function variant(key: Buffer, bytes: readonly number[]): Buffer {
  const out = Buffer.from(key);
  for (const i of bytes) out[i]! ^= 0xff;
  return out;
}

export interface DukptWorkingKeys {
  readonly ipek: Buffer;
  readonly pinKey: Buffer;
  readonly macKey: Buffer;
  readonly dataKey: Buffer;
}

/**
 * TDES DUKPT working keys (X9.24-1:2009 A.4.1): PIN variant (bytes 7 and 15 ⊕ FF), MAC request
 * variant (bytes 6 and 14), and the data encryption key: the data variant (bytes 5 and 13)
 * with each half then encrypted under that variant key.
 */
export function tdesDukptKeys(bdk: Uint8Array, ksn: Uint8Array): DukptWorkingKeys {
  const ipek = tdesDukptIpek(bdk, ksn);
  const current = tdesDukptTransactionKey(ipek, ksn);
  const dataVariant = variant(current, [5, 13]);
  const dataKey = tdesEcb(dataVariant).encrypt(dataVariant);
  return { ipek, pinKey: variant(current, [7, 15]), macKey: variant(current, [6, 14]), dataKey };
}

// AES DUKPT, ANSI X9.24-3:2017 §6.3.
export const AES_DUKPT_USAGE = {
  keyEncryption: 0x0002,
  pinEncryption: 0x1000,
  macGeneration: 0x2000,
  macVerification: 0x2001,
  macBoth: 0x2002,
  dataEncrypt: 0x3000,
  dataDecrypt: 0x3001,
  dataBoth: 0x3002,
  keyDerivation: 0x8000,
  initialKey: 0x8001,
} as const;

const AES_ALGORITHM: Record<number, number> = { 16: 0x0002, 24: 0x0003, 32: 0x0004 };

function checkAesKsn(ksn: Uint8Array): void {
  if (ksn.length !== 12) throw new CryptoInputError('invalid_ksn', `an AES DUKPT KSN is 12 bytes (24 hex digits), got ${ksn.length}`);
}

function derivationData(usage: number, keyLength: number, ksnData: Uint8Array): Buffer {
  const data = Buffer.alloc(16);
  data[0] = 0x01; // version
  data[1] = 0x01; // key block counter, incremented per 16 bytes of output
  data.writeUInt16BE(usage, 2);
  data.writeUInt16BE(AES_ALGORITHM[keyLength]!, 4);
  data.writeUInt16BE(keyLength * 8, 6);
  data.set(ksnData, 8);
  return data;
}

function aesDerive(key: Uint8Array, data: Buffer, keyLength: number): Buffer {
  const cipher = aesEcb(key);
  const out: Buffer[] = [];
  for (let made = 0; made < keyLength; made += 16) {
    out.push(cipher.encrypt(data));
    data[1]!++;
  }
  return Buffer.concat(out).subarray(0, keyLength);
}

function counterData(ksn: Uint8Array, counter: number): Buffer {
  const d = Buffer.alloc(8);
  d.set(ksn.subarray(4, 8), 0);
  d.writeUInt32BE(counter >>> 0, 4);
  return d;
}

export function aesDukptInitialKey(bdk: Uint8Array, ksn: Uint8Array): Buffer {
  if (!(bdk.length in AES_ALGORITHM)) throw new CryptoInputError('invalid_key_length', `an AES DUKPT BDK is 16, 24 or 32 bytes, got ${bdk.length}`);
  checkAesKsn(ksn);
  return aesDerive(bdk, derivationData(AES_DUKPT_USAGE.initialKey, bdk.length, ksn.subarray(0, 8)), bdk.length);
}

/** The intermediate derivation key for the KSN's counter (X9.24-3 §6.1). */
export function aesDukptDerivationKey(initialKey: Uint8Array, ksn: Uint8Array): Buffer {
  checkAesKsn(ksn);
  const counter = Buffer.from(ksn).readUInt32BE(8);
  if (bitCount(counter) > 16) throw new CryptoInputError('invalid_ksn', 'the KSN counter has more than 16 bits set');
  let key: Buffer = Buffer.from(initialKey);
  let working = 0;
  for (let bit = 31; bit >= 0; bit--) {
    const mask = (1 << bit) >>> 0;
    if ((counter & mask) === 0) continue;
    working = (working | mask) >>> 0;
    key = aesDerive(key, derivationData(AES_DUKPT_USAGE.keyDerivation, key.length, counterData(ksn, working)), key.length);
  }
  return key;
}

/** AES DUKPT working keys of the same length as the BDK: PIN encryption, MAC generation, data encryption. */
export function aesDukptKeys(bdk: Uint8Array, ksn: Uint8Array): DukptWorkingKeys {
  const ipek = aesDukptInitialKey(bdk, ksn);
  const derivation = aesDukptDerivationKey(ipek, ksn);
  const counter = Buffer.from(ksn).readUInt32BE(8);
  const working = (usage: number): Buffer =>
    aesDerive(derivation, derivationData(usage, derivation.length, counterData(ksn, counter)), derivation.length);
  return {
    ipek,
    pinKey: working(AES_DUKPT_USAGE.pinEncryption),
    macKey: working(AES_DUKPT_USAGE.macGeneration),
    dataKey: working(AES_DUKPT_USAGE.dataEncrypt),
  };
}
