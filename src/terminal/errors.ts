/** What the software terminal refuses to do, with a stable code for the CLI and for tests. */
export class TerminalError extends Error {
  constructor(
    readonly code: 'not_activated' | 'not_signed_in' | 'reversal_pending' | 'settlement_required' | 'activation_failed' | 'sign_in_failed' | 'unknown_transaction' | 'invalid_input' | 'state_file_exposed' | 'state_file_corrupt',
    message: string,
  ) {
    super(message);
    this.name = 'TerminalError';
  }
}
