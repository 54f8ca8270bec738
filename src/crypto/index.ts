/**
 * Pure payment-cryptography functions on explicit keys: what the calculator CLI, the HSM module and
 * the software terminal call. Only node:crypto primitives; the modes and formats are composed here.
 */
export { aesEcb, tdesEcb, type BlockCipher } from './block-cipher.js';
export { CryptoInputError } from './errors.js';
export { parseHex, requireDigits, timingSafeEqual, toHex, xor } from './hex.js';
export { aesKcv, kcvWith, tdesKcv, type KcvMethod } from './kcv.js';
export { aesCmac, cmacWith, cupEcbMac, cupEcbMacWith, iso9797Alg1, iso9797Alg3, padIso9797, type MacPadding } from './mac.js';
export {
  decipherFormat4,
  decodeClearPinBlock,
  encipherFormat4,
  encodeClearPinBlock,
  pinBlockAccount,
  PinBlockError,
  PIN_LENGTH_MAX,
  PIN_LENGTH_MIN,
  weakPinReason,
  type PinBlockFormat,
} from './pin-block.js';
export {
  cardVerificationValue,
  decimalizeVisa,
  DEFAULT_DECIMALIZATION_TABLE,
  defaultValidationData,
  ibm3624NaturalPin,
  ibm3624Offset,
  ibm3624PinFromOffset,
  visaPvv,
} from './pin-verification.js';
export {
  AES_DUKPT_USAGE,
  aesDukptDerivationKey,
  aesDukptInitialKey,
  aesDukptKeys,
  tdesDukptIpek,
  tdesDukptKeys,
  tdesDukptTransactionKey,
  type DukptWorkingKeys,
} from './dukpt.js';
export { luhnCheckDigit, luhnValid, maskPan } from './luhn.js';
export { checkIdNumber, idNumberCheckCharacter, type IdNumberResult } from './id-number.js';
export { generateTdesKey, hasOddParity, isWeakDesKey, withOddParity } from './key-rules.js';
export {
  activationAad,
  activationInfo,
  activationKey,
  buildActivationRequest,
  openTmk,
  parseActivationRequest,
  sealTmk,
  type ActivationRequest,
} from './activation.js';
export { applicationCryptogram, applicationCryptogramSessionKey, arpcMethod1, arqcData, deriveCommonSessionKey, deriveIccMasterKey } from './emv.js';
