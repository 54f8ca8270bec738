import { randomFillSync } from 'node:crypto';

/**
 * Opaque ids with a type prefix (`mch_…`, `trm_…`, `txn_…`): time-ordered (base-36 milliseconds)
 * then 64 random bits, so they sort by creation and never collide across host processes.
 *
 * The random bits come from a pool refilled 4 KiB at a time: on this platform each small
 * randomBytes() call costs a system call (~18 µs measured), and the host makes two ids per sale.
 * Ids are not secrets; keys, nonces and codes still draw from the CSPRNG directly.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

function random8(): string {
  if (used + 8 > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString('hex', used, used + 8);
  used += 8;
  return hex;
}

export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, '0')}${random8()}`;
}
