import { aesEcb, tdesEcb, type BlockCipher } from './block-cipher.js';
import { CryptoInputError } from './errors.js';

export type MacPadding = 1 | 2;

/** ISO/IEC 9797-1 padding method 1 (zeros, none when already aligned; empty data → one block) or 2 (0x80 then zeros). */
export function padIso9797(data: Uint8Array, blockSize: number, method: MacPadding): Buffer {
  if (method === 1) {
    const length = data.length === 0 ? blockSize : Math.ceil(data.length / blockSize) * blockSize;
    const out = Buffer.alloc(length);
    out.set(data);
    return out;
  }
  const out = Buffer.alloc((Math.floor(data.length / blockSize) + 1) * blockSize);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

function cbcChain(cipher: BlockCipher, padded: Uint8Array, end: number, state: Buffer): Buffer {
  const size = cipher.blockSize;
  let h = state;
  for (let offset = 0; offset < end; offset += size) {
    const x = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) x[i] = h[i]! ^ padded[offset + i]!;
    h = cipher.encrypt(x);
  }
  return h;
}

/** ISO/IEC 9797-1 MAC algorithm 1: CBC-MAC with DES (8-byte key) or 3DES (16/24-byte key), zero IV. */
export function iso9797Alg1(key: Uint8Array, data: Uint8Array, padding: MacPadding): Buffer {
  const cipher = tdesEcb(key);
  const padded = padIso9797(data, 8, padding);
  return cbcChain(cipher, padded, padded.length, Buffer.alloc(8));
}

/**
 * ISO/IEC 9797-1 MAC algorithm 3, the ANSI X9.19 "retail MAC": single-DES CBC under K over every
 * block, then the last result is decrypted under K' and encrypted under K. Key = K ‖ K' (16 bytes).
 */
export function iso9797Alg3(key: Uint8Array, data: Uint8Array, padding: MacPadding): Buffer {
  if (key.length !== 16) {
    throw new CryptoInputError('invalid_key_length', `ISO 9797-1 algorithm 3 needs a 16-byte key K‖K', got ${key.length}`);
  }
  const left = tdesEcb(key.subarray(0, 8));
  const padded = padIso9797(data, 8, padding);
  const lastStart = padded.length - 8;
  const h = cbcChain(left, padded, lastStart, Buffer.alloc(8));
  const x = Buffer.allocUnsafe(8);
  for (let i = 0; i < 8; i++) x[i] = h[i]! ^ padded[lastStart + i]!;
  // E_K(D_K'(E_K(x))) is two-key 3DES EDE under K‖K'.
  return tdesEcb(key).encrypt(x);
}

function shiftLeftOne(block: Buffer, rb: number): Buffer {
  const out = Buffer.allocUnsafe(block.length);
  let carry = 0;
  for (let i = block.length - 1; i >= 0; i--) {
    const b = block[i]!;
    out[i] = ((b << 1) & 0xff) | carry;
    carry = b >>> 7;
  }
  if (block[0]! & 0x80) out[block.length - 1]! ^= rb;
  return out;
}

/** CMAC (NIST SP 800-38B, RFC 4493) over any 8- or 16-byte block cipher. */
export function cmacWith(cipher: BlockCipher, data: Uint8Array): Buffer {
  const size = cipher.blockSize;
  const rb = size === 16 ? 0x87 : 0x1b;
  const l = cipher.encrypt(Buffer.alloc(size));
  const k1 = shiftLeftOne(l, rb);
  const k2 = shiftLeftOne(k1, rb);
  const complete = data.length > 0 && data.length % size === 0;
  const blocks = complete ? data.length / size : Math.floor(data.length / size) + 1;
  const last = Buffer.alloc(size);
  const lastStart = (blocks - 1) * size;
  if (complete) {
    for (let i = 0; i < size; i++) last[i] = data[lastStart + i]! ^ k1[i]!;
  } else {
    last.set(data.subarray(lastStart));
    last[data.length - lastStart] = 0x80;
    for (let i = 0; i < size; i++) last[i]! ^= k2[i]!;
  }
  const h = cbcChain(cipher, data, lastStart, Buffer.alloc(size));
  for (let i = 0; i < size; i++) last[i]! ^= h[i]!;
  return cipher.encrypt(last);
}

export function aesCmac(key: Uint8Array, data: Uint8Array): Buffer {
  return cmacWith(aesEcb(key), data);
}

const HEX_UPPER = '0123456789ABCDEF';

function asciiHex(bytes: Uint8Array, out: Buffer, at: number): void {
  for (let i = 0; i < bytes.length; i++) {
    out[at + 2 * i] = HEX_UPPER.charCodeAt(bytes[i]! >>> 4);
    out[at + 2 * i + 1] = HEX_UPPER.charCodeAt(bytes[i]! & 0x0f);
  }
}

/**
 * The UnionPay terminal "ECB" MAC (protocol §6.3): XOR the zero-padded MAB into one block R, encrypt
 * the ASCII hex of R's first half, XOR with the ASCII hex of its second half, encrypt again, and send
 * the first 8 hex characters of the result as 8 ASCII bytes. `cipher` is DES (8-byte MAK) or 3DES.
 */
export function cupEcbMacWith(cipher: BlockCipher, mab: Uint8Array, start = 0, end = mab.length): Buffer {
  const r = Buffer.alloc(8);
  for (let i = start; i < end; i++) r[(i - start) & 7]! ^= mab[i]!;
  const h = Buffer.allocUnsafe(16);
  asciiHex(r, h, 0);
  const e1 = cipher.encrypt(h.subarray(0, 8));
  for (let i = 0; i < 8; i++) e1[i]! ^= h[8 + i]!;
  const e2 = cipher.encrypt(e1);
  const mac = Buffer.allocUnsafe(8);
  asciiHex(e2.subarray(0, 4), mac, 0);
  return mac;
}

export function cupEcbMac(mak: Uint8Array, mab: Uint8Array): Buffer {
  return cupEcbMacWith(tdesEcb(mak), mab);
}
