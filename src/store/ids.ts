import { randomBytes } from 'node:crypto';

/**
 * Opaque ids with a type prefix (`mch_…`, `trm_…`, `txn_…`): time-ordered (base-36 milliseconds)
 * then 64 random bits, so they sort by creation and never collide across host processes.
 */
export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}
