/** A failure after a unit committed: the outcome stands, so the host sends nothing (protocol §7 "any"). */
export class AfterCommitError extends Error {
  override readonly name = 'AfterCommitError';
}
