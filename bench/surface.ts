// What the benchmarks use, from the domains' public surfaces.
export { cupEcbMac, encodeClearPinBlock, pinBlockAccount, tdesEcb } from '../src/crypto/index.js';
export { cup, encodeTlv, iso87ascii, IsoMessage } from '../src/iso8583/index.js';
export { lmkFromBytes, SoftwareHsm } from '../src/hsm/index.js';
