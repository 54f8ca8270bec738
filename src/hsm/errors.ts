export type HsmErrorCode =
  | 'key_block_invalid'
  | 'wrong_lmk'
  | 'key_usage_mismatch'
  | 'key_not_exportable'
  | 'kcv_mismatch'
  | 'invalid_input';

/** A refusal by the HSM module. Messages name the operation and the key's usage, never key material. */
export class HsmError extends Error {
  override readonly name = 'HsmError';
  constructor(
    readonly code: HsmErrorCode,
    message: string,
  ) {
    super(message);
  }
}
