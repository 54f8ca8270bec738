import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { HsmError } from './errors.js';

/**
 * The local master key (LMK): 32 random bytes that wrap every other key. It comes from the
 * environment (`POSGATE_LMK`, 64 hex digits) or a key file holding the same, created with mode 0600
 * on the first run of the embedded default. Only a derived wrapping key and a public identifier
 * leave this file; the LMK bytes themselves are never exposed, printed or logged.
 */
export interface Lmk {
  /** 8 hex digits identifying the LMK (an HMAC of it), carried in every key block */
  readonly id: string;
  /** AES-256 key for key blocks, derived from the LMK with HKDF */
  readonly wrappingKey: Buffer;
  /** HMAC-SHA256 key for PAN look-up hashes */
  readonly panHashKey: Buffer;
  /** AES-256-GCM key for PANs at rest */
  readonly panEncryptionKey: Buffer;
  /** argon2id's secret (K) for password hashes: without the LMK, a stolen hash of a 4-digit password cannot be tried offline */
  readonly passwordSecret: Buffer;
  /** HMAC-SHA256 key that seals the audit log's chain */
  readonly auditKey: Buffer;
}

export const LMK_ENV = 'POSGATE_LMK';

export function lmkFromBytes(bytes: Uint8Array): Lmk {
  if (bytes.length !== 32) throw new HsmError('invalid_input', `an LMK is 32 bytes (64 hex digits), got ${bytes.length}`);
  const id = createHmac('sha256', bytes).update('posgate lmk id').digest('hex').slice(0, 8).toUpperCase();
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', bytes, Buffer.alloc(0), info, 32));
  return Object.freeze({
    id,
    wrappingKey: derive('posgate/key-block/v1'),
    panHashKey: derive('posgate/pan-hash/v1'),
    panEncryptionKey: derive('posgate/pan-encryption/v1'),
    passwordSecret: derive('posgate/password-secret/v1'),
    auditKey: derive('posgate/audit-chain/v1'),
    toJSON: () => ({ id }),
    [Symbol.for('nodejs.util.inspect.custom')]: () => `Lmk(${id})`,
  });
}

function parseLmkText(text: string, source: string): Lmk {
  const hex = text.trim();
  if (!/^[0-9A-Fa-f]{64}$/.test(hex)) throw new HsmError('invalid_input', `${source} must hold 64 hex digits`);
  return lmkFromBytes(Buffer.from(hex, 'hex'));
}

/** The LMK from `POSGATE_LMK` if set, else from `file`, creating the file (0600) when `create` is set. */
export function loadLmk(options: { file?: string; create?: boolean; env?: NodeJS.ProcessEnv } = {}): Lmk {
  const env = options.env ?? process.env;
  const fromEnv = env[LMK_ENV];
  if (fromEnv) return parseLmkText(fromEnv, LMK_ENV);
  const file = options.file;
  if (!file) throw new HsmError('invalid_input', `no LMK: set ${LMK_ENV} or give a key file`);
  if (!existsSync(file)) {
    if (!options.create) throw new HsmError('invalid_input', `LMK key file ${file} does not exist`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString('hex').toUpperCase()}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new HsmError('invalid_input', `LMK key file ${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  return parseLmkText(readFileSync(file, 'utf8'), `LMK key file ${file}`);
}
