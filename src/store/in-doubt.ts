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
