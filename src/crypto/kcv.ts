import { aesEcb, tdesEcb, type BlockCipher } from './block-cipher.js';
import { cmacWith } from './mac.js';

/**
 * Key check values. TDES: the leftmost bytes of the key's encryption of 8 zero bytes (ANSI X9.24).
 * AES has two conventions in use, so the method is always named with the value:
 * - `cmac`: leftmost bytes of AES-CMAC over 16 zero bytes (ANSI X9.24-1:2017, TR-31; the default);
 * - `encrypt-zeros`: leftmost bytes of the AES-ECB encryption of 16 zero bytes (legacy).
 * Most key ceremonies compare 3 bytes; the posgate terminal protocol carries 4.
 */
export type KcvMethod = 'encrypt-zeros' | 'cmac';

export function kcvWith(cipher: BlockCipher, method: KcvMethod, length = 3): Buffer {
  const zeros = Buffer.alloc(cipher.blockSize);
  const full = method === 'cmac' ? cmacWith(cipher, zeros) : cipher.encrypt(zeros);
  return full.subarray(0, length);
}

export function tdesKcv(key: Uint8Array, length = 3): Buffer {
  return kcvWith(tdesEcb(key), 'encrypt-zeros', length);
}

export function aesKcv(key: Uint8Array, method: KcvMethod = 'cmac', length = 3): Buffer {
  return kcvWith(aesEcb(key), method, length);
}
