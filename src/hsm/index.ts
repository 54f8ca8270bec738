/** Key custody: every key wrapped under the LMK and used by handle through the `Hsm` interface. */
export { HsmError, type HsmErrorCode } from './errors.js';
export type { CardData, ChipCryptogram, Hsm, Ibm3624Params, KeySpec, KeyWithCheck, MacAlgorithm, NewPasswordResult, PasswordVerdict, PinBlockRef, PinInput, PinOwner, ProtectedPan, PvvParams } from './hsm.js';
export { KEY_USAGES, readKeyHeader, type KeyAlgorithm, type KeyBlock, type KeyUsage } from './key-block.js';
export { LMK_ENV, lmkFromBytes, loadLmk, type Lmk } from './lmk.js';
export { SoftwareHsm } from './software-hsm.js';
