import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { HsmError } from './errors.js';
import type { Lmk } from './lmk.js';

/**
 * A key as the rest of posgate sees it: an opaque string holding the key encrypted and
 * authenticated under the LMK (AES-256-GCM, the header as additional data), so that it can be
 * stored in any table and handed back to the HSM module. Header: `PG1.<alg><bytes>.<usage>.<lmk id>`.
 */
export type KeyBlock = string & { readonly __keyBlock: unique symbol };

export type KeyAlgorithm = 'tdes' | 'aes';

/**
 * What a key may be used for (as TR-31 key usage): `tmk` and `kek` wrap other keys, `pin` encrypts
 * PIN blocks (PIK/ZPK), `mac` computes MACs (MAK), `data` encrypts data and tracks (TDK), `pvk`
 * and `cvk` compute verification values, `bdk` derives DUKPT keys, `imk-ac` is an issuer master key
 * for EMV application cryptograms (TR-31 E0), from which each chip card's key is derived.
 */
export type KeyUsage = 'tmk' | 'kek' | 'pin' | 'mac' | 'data' | 'pvk' | 'cvk' | 'bdk' | 'imk-ac';

export const KEY_USAGES: readonly KeyUsage[] = ['tmk', 'kek', 'pin', 'mac', 'data', 'pvk', 'cvk', 'bdk', 'imk-ac'];

export interface KeyHeader {
  readonly algorithm: KeyAlgorithm;
  readonly length: number;
  readonly usage: KeyUsage;
}

const VERSION = 'PG1';

export function keyLengthsFor(algorithm: KeyAlgorithm): readonly number[] {
  return algorithm === 'tdes' ? [8, 16, 24] : [16, 24, 32];
}

function headerText(header: KeyHeader, lmk: Lmk): string {
  return `${VERSION}.${header.algorithm === 'tdes' ? 'T' : 'A'}${header.length}.${header.usage}.${lmk.id}`;
}

export function wrapKey(lmk: Lmk, header: KeyHeader, clear: Uint8Array): KeyBlock {
  if (!keyLengthsFor(header.algorithm).includes(clear.length) || clear.length !== header.length) {
    throw new HsmError('invalid_input', `a ${header.algorithm} key of ${clear.length} bytes is not allowed`);
  }
  const head = headerText(header, lmk);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', lmk.wrappingKey, nonce).setAAD(Buffer.from(head, 'latin1'));
  const body = Buffer.concat([nonce, cipher.update(clear), cipher.final(), cipher.getAuthTag()]);
  return `${head}.${body.toString('base64url')}` as KeyBlock;
}

export function readKeyHeader(block: string): KeyHeader & { readonly lmkId: string } {
  const parts = block.split('.');
  const [version, alg, usage, lmkId, body] = parts;
  const algorithm = alg?.[0] === 'T' ? 'tdes' : alg?.[0] === 'A' ? 'aes' : undefined;
  const length = Number(alg?.slice(1));
  if (parts.length !== 5 || version !== VERSION || !algorithm || !keyLengthsFor(algorithm).includes(length) || !KEY_USAGES.includes(usage as KeyUsage) || !/^[0-9A-F]{8}$/.test(lmkId ?? '') || !body) {
    throw new HsmError('key_block_invalid', 'not a posgate key block');
  }
  return { algorithm, length, usage: usage as KeyUsage, lmkId: lmkId! };
}

export function unwrapKey(lmk: Lmk, block: string): { header: KeyHeader; clear: Buffer } {
  const header = readKeyHeader(block);
  if (header.lmkId !== lmk.id) throw new HsmError('wrong_lmk', `key block was made under LMK ${header.lmkId}, this HSM holds ${lmk.id}`);
  const head = block.slice(0, block.lastIndexOf('.'));
  const body = Buffer.from(block.slice(head.length + 1), 'base64url');
  if (body.length !== 12 + header.length + 16) throw new HsmError('key_block_invalid', 'key block body has the wrong length');
  try {
    const decipher = createDecipheriv('aes-256-gcm', lmk.wrappingKey, body.subarray(0, 12)).setAAD(Buffer.from(head, 'latin1'));
    decipher.setAuthTag(body.subarray(body.length - 16));
    const clear = Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]);
    return { header: { algorithm: header.algorithm, length: header.length, usage: header.usage }, clear };
  } catch {
    throw new HsmError('key_block_invalid', 'key block failed its integrity check');
  }
}
