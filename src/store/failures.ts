/**
 * A unit whose transaction may or may not have taken effect: its COMMIT failed without the database
 * saying it was rolled back (a lost connection, an I/O error), or it committed but could not be made
 * durable (WalSyncError). Its outcome is unknown here, so nothing may be answered for it and it is
 * never run again: the terminal reverses or retransmits, and the reversal or the duplicate check
 * finds whatever survived (protocol §7, "after the commit").
 */
export class OutcomeInDoubtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutcomeInDoubtError';
  }
}

/**
 * Whether a failed COMMIT is known not to have taken effect: a PostgreSQL error reply (it carries a
 * SQLSTATE: the server rolled the transaction back), or SQLite's SQLITE_BUSY (the transaction is
 * still open, and is rolled back). Anything else leaves the outcome unknown.
 */
export function commitFailedCleanly(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return /^[0-9A-Z]{5}$/.test(code) || code === 'SQLITE_BUSY';
}

/**
 * Whether an error says the database could not serve the group at all — a lock not granted in
 * time, a statement cancelled, the server shutting down, the connection gone, SQLite's write lock
 * held elsewhere — rather than that one unit's work was wrong. Running each unit again on its own
 * would then only meet the same wall once per unit (a 64-unit group behind a held lock would wait
 * out the lock timeout 65 times), so every unit fails at once and the host answers 96.
 */
export function storeUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // PostgreSQL: 08 connection exception, 53 insufficient resources, 55P03 lock not available,
  // 57014 query cancelled (statement timeout), 57P01–57P03 shutdown / cannot connect now
  if (/^(08|53)[0-9A-Z]{3}$/.test(code) || ['55P03', '57014', '57P01', '57P02', '57P03'].includes(code)) return true;
  // the network under the PostgreSQL client, and SQLite's lock held by another connection past busy_timeout
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'SQLITE_BUSY', 'SQLITE_LOCKED'].includes(code);
}
