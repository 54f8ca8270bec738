/**
 * An input that a caller (a CLI user, a terminal, another domain) got wrong. The `code` is stable
 * and documented; the message names the input but never echoes a secret value.
 */
export class CryptoInputError extends Error {
  override readonly name = 'CryptoInputError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
