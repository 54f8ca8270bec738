import { createCipheriv, createDecipheriv, createECDH, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify, Algorithm } from '@node-rs/argon2';
import {
  activationAad,
  activationInfo,
  activationKey,
  aesEcb,
  applicationCryptogram,
  applicationCryptogramSessionKey,
  arpcMethod1,
  cardVerificationValue,
  deriveIccMasterKey,
  sealTmk,
  tdesKcv,
  cmacWith,
  cupEcbMacWith,
  CryptoInputError,
  DEFAULT_DECIMALIZATION_TABLE,
  decipherFormat4,
  decodeClearPinBlock,
  defaultValidationData,
  encipherFormat4,
  encodeClearPinBlock,
  generateTdesKey,
  ibm3624Offset,
  ibm3624PinFromOffset,
  iso9797Alg1,
  iso9797Alg3,
  kcvWith,
  pinBlockAccount,
  tdesDukptKeys,
  aesDukptKeys,
  tdesEcb,
  maskPan,
  visaPvv,
  weakPinReason,
  requireDigits,
  type BlockCipher,
  type KcvMethod,
} from '../crypto/index.js';
import { HsmError } from './errors.js';
import type { CardData, ChipCryptogram, Hsm, Ibm3624Params, KeySpec, KeyWithCheck, MacAlgorithm, NewPasswordResult, PasswordVerdict, PinBlockRef, PinInput, PinOwner, ProtectedPan, PvvParams } from './hsm.js';
import { KEY_USAGES, unwrapKey, wrapKey, type KeyBlock, type KeyHeader, type KeyUsage } from './key-block.js';
import type { Lmk } from './lmk.js';

interface LoadedKey {
  readonly header: KeyHeader;
  readonly clear: Buffer;
  readonly cipher: BlockCipher;
  /** single DES under the left half (CVV's first step), made on first use */
  leftHalf?: BlockCipher;
}

/** Keys that are used, never exported: they stay under the LMK for good. */
const NOT_EXPORTABLE: ReadonlySet<KeyUsage> = new Set(['pvk', 'cvk', 'bdk', 'imk-ac']);
/** Keys that may wrap other keys for export and import. */
const WRAPPING: ReadonlySet<KeyUsage> = new Set(['tmk', 'kek']);

const CACHE_ENTRIES_MAX = 50_000;

/** argon2id parameters (OWASP 2023 minimum: 19 MiB, 2 passes, 1 lane). */
const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
/** The mark of a password hash keyed with the LMK's password secret (version 1). */
const KEYED = 'k1$';

/**
 * Unwrapped keys by key block, the least recently used out first — approximately, in two
 * generations: a hit in the older generation moves the key to the current one, and once the
 * current one holds half the entries it becomes the older and the older is dropped. A hit in the
 * current generation (the hot path: a terminal's keys on every request) is one map look-up, where
 * an exact LRU list would move the entry on every use.
 */
class RecentKeys {
  #current = new Map<string, LoadedKey>();
  #older = new Map<string, LoadedKey>();

  constructor(private readonly entriesMax: number) {}

  get(block: string): LoadedKey | undefined {
    const key = this.#current.get(block);
    if (key) return key;
    const old = this.#older.get(block);
    if (old) this.set(block, old);
    return old;
  }

  set(block: string, key: LoadedKey): void {
    this.#current.set(block, key);
    if (this.#current.size >= this.entriesMax / 2) {
      this.#older = this.#current;
      this.#current = new Map();
    }
  }

  delete(block: string): void {
    this.#current.delete(block);
    this.#older.delete(block);
  }
}

/**
 * The in-process HSM. Unwrapped keys and their cipher objects are cached per key block (bounded,
 * least recently used out first), so the hot path — a MAC check or PIN verification per request —
 * costs one map look-up and the cipher calls, never an unwrap or a cipher creation.
 */
export class SoftwareHsm implements Hsm {
  // ES private fields: invisible to util.inspect, JSON.stringify and property enumeration.
  readonly #cache = new RecentKeys(CACHE_ENTRIES_MAX);
  readonly #lmk: Lmk;

  constructor(lmk: Lmk) {
    this.#lmk = lmk;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SoftwareHsm(lmk ${this.#lmk.id})`;
  }

  toJSON(): { lmkId: string } {
    return { lmkId: this.#lmk.id };
  }

  get lmkId(): string {
    return this.#lmk.id;
  }

  // ---- key custody ----

  private load(block: KeyBlock, usage: KeyUsage | readonly KeyUsage[], operation: string): LoadedKey {
    let key = this.#cache.get(block);
    if (!key) {
      const { header, clear } = unwrapKey(this.#lmk, block);
      const cipher = header.algorithm === 'tdes' ? tdesEcb(clear) : aesEcb(clear);
      key = { header, clear, cipher };
      this.#cache.set(block, key);
    }
    if (typeof usage === 'string' ? key.header.usage !== usage : !usage.includes(key.header.usage)) {
      const allowed = typeof usage === 'string' ? [usage] : usage;
      throw new HsmError('key_usage_mismatch', `${operation} needs a ${allowed.join(' or ')} key, got a ${key.header.usage} key`);
    }
    return key;
  }

  describeKey(block: KeyBlock): KeySpec {
    return unwrapKey(this.#lmk, block).header;
  }

  private checkValue(key: LoadedKey, length = 3, method?: KcvMethod): string {
    const m = method ?? (key.header.algorithm === 'aes' ? 'cmac' : 'encrypt-zeros');
    return kcvWith(key.cipher, m, length).toString('hex').toUpperCase();
  }

  private admit(spec: KeySpec, clear: Buffer, expectedKcv?: string, kcvLength = 3): KeyWithCheck {
    const key = wrapKey(this.#lmk, spec, clear);
    const loaded = this.load(key, spec.usage, 'import');
    const kcv = this.checkValue(loaded, expectedKcv ? expectedKcv.length / 2 : kcvLength);
    if (expectedKcv !== undefined && kcv !== expectedKcv.toUpperCase()) {
      this.#cache.delete(key);
      throw new HsmError('kcv_mismatch', 'the key does not match its check value');
    }
    return { key, kcv: expectedKcv ? this.checkValue(loaded, kcvLength) : kcv };
  }

  async generateKey(spec: KeySpec, kcvLength = 3): Promise<KeyWithCheck> {
    const clear = spec.algorithm === 'tdes' ? generateTdesKey(spec.length as 8 | 16 | 24) : randomBytes(spec.length);
    return this.admit(spec, clear, undefined, kcvLength);
  }

  async importClearKey(spec: KeySpec, clear: Uint8Array, expectedKcv?: string): Promise<KeyWithCheck> {
    return this.admit(spec, Buffer.from(clear), expectedKcv);
  }

  async importKey(spec: KeySpec, kek: KeyBlock, wrapped: Uint8Array, expectedKcv?: string): Promise<KeyWithCheck> {
    const wrapper = this.load(kek, [...WRAPPING], 'key import');
    const clear = this.unwrapUnder(wrapper, Buffer.from(wrapped));
    if (clear.length !== spec.length) throw new HsmError('invalid_input', `unwrapped key is ${clear.length} bytes, expected ${spec.length}`);
    return this.admit(spec, clear, expectedKcv);
  }

  async exportKey(block: KeyBlock, kek: KeyBlock, kcvLength = 3): Promise<{ wrapped: Buffer; kcv: string }> {
    const wrapper = this.load(kek, [...WRAPPING], 'key export');
    const key = this.load(block, ['tmk', 'kek', 'pin', 'mac', 'data'], 'key export');
    if (NOT_EXPORTABLE.has(key.header.usage)) throw new HsmError('key_not_exportable', `${key.header.usage} keys never leave the HSM`);
    return { wrapped: this.wrapUnder(wrapper, key.clear), kcv: this.checkValue(key, kcvLength) };
  }

  /** TDES KEK: each 8-byte block in ECB (the CUP working-key format). AES KEK: AES key wrap (RFC 3394). */
  private wrapUnder(wrapper: LoadedKey, clear: Buffer): Buffer {
    if (wrapper.header.algorithm === 'tdes') return wrapper.cipher.encrypt(clear);
    const cipher = createCipheriv(`id-aes${wrapper.header.length * 8}-wrap`, wrapper.clear, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
    return Buffer.concat([cipher.update(clear), cipher.final()]);
  }

  private unwrapUnder(wrapper: LoadedKey, wrapped: Buffer): Buffer {
    if (wrapper.header.algorithm === 'tdes') {
      if (wrapped.length === 0 || wrapped.length % 8 !== 0) throw new HsmError('invalid_input', 'a key under a TDES KEK is a whole number of 8-byte blocks');
      return wrapper.cipher.decrypt(wrapped);
    }
    try {
      const decipher = createDecipheriv(`id-aes${wrapper.header.length * 8}-wrap`, wrapper.clear, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
      return Buffer.concat([decipher.update(wrapped), decipher.final()]);
    } catch {
      throw new HsmError('invalid_input', 'the wrapped key failed the AES key-wrap integrity check');
    }
  }

  async keyCheckValue(block: KeyBlock, options: { method?: KcvMethod; length?: number } = {}): Promise<string> {
    const key = this.load(block, KEY_USAGES, 'key check value');
    return this.checkValue(key, options.length ?? 3, options.method);
  }

  // ---- MACs ----

  private mac(key: LoadedKey, algorithm: MacAlgorithm, data: Uint8Array, padding: 1 | 2): Buffer {
    switch (algorithm) {
      case 'cup-ecb':
        this.expect(key, 'tdes', algorithm);
        return cupEcbMacWith(key.cipher, data);
      case 'iso9797-1-m1':
        this.expect(key, 'tdes', algorithm);
        return iso9797Alg1(key.clear, data, padding);
      case 'iso9797-1-m3':
        this.expect(key, 'tdes', algorithm);
        return iso9797Alg3(key.clear, data, padding);
      case 'aes-cmac':
        this.expect(key, 'aes', algorithm);
        return cmacWith(key.cipher, data);
    }
  }

  private expect(key: LoadedKey, algorithm: 'tdes' | 'aes', operation: string): void {
    if (key.header.algorithm !== algorithm) throw new HsmError('key_usage_mismatch', `${operation} needs a ${algorithm.toUpperCase()} key`);
  }

  async generateMac(block: KeyBlock, algorithm: MacAlgorithm, data: Uint8Array, padding: 1 | 2 = 1): Promise<Buffer> {
    return this.mac(this.load(block, 'mac', 'MAC generation'), algorithm, data, padding);
  }

  async verifyMac(block: KeyBlock, algorithm: MacAlgorithm, data: Uint8Array, mac: Uint8Array, padding: 1 | 2 = 1): Promise<boolean> {
    const expected = this.mac(this.load(block, 'mac', 'MAC verification'), algorithm, data, padding);
    if (mac.length === 0 || mac.length > expected.length) return false;
    return timingSafeEqual(expected.subarray(0, mac.length), mac);
  }

  // ---- PINs ----

  /** The clear PIN, inside this module only. Throws PinBlockError (→ response code 99) when the block does not decode. */
  private openPin(input: PinInput): string {
    const key = this.load(input.under.key, 'pin', 'PIN decryption');
    return this.decodeUnder(key, input.under.format, Buffer.from(input.block), input);
  }

  private decodeUnder(key: LoadedKey, format: PinBlockRef['format'], block: Buffer, owner: PinOwner): string {
    if (format === 4) {
      this.expect(key, 'aes', 'PIN block format 4');
      if (owner.pan === undefined) throw new CryptoInputError('pan_required', 'PIN block format 4 needs the PAN');
      return decipherFormat4(key.cipher, block, owner.pan);
    }
    this.expect(key, 'tdes', `PIN block format ${format}`);
    if (block.length !== 8) throw new CryptoInputError('pin_block_invalid', 'PIN block does not decode: TDES PIN blocks are 8 bytes');
    return decodeClearPinBlock(format, key.cipher.decrypt(block), format === 1 ? undefined : this.account(owner));
  }

  private account(owner: PinOwner): string {
    return owner.account ?? pinBlockAccount(owner.pan!);
  }

  private sealPin(pin: string, to: PinBlockRef, owner: PinOwner): Buffer {
    const key = this.load(to.key, 'pin', 'PIN encryption');
    if (to.format === 4) {
      this.expect(key, 'aes', 'PIN block format 4');
      if (owner.pan === undefined) throw new CryptoInputError('pan_required', 'PIN block format 4 needs the PAN');
      return encipherFormat4(key.cipher, pin, owner.pan);
    }
    this.expect(key, 'tdes', `PIN block format ${to.format}`);
    return key.cipher.encrypt(encodeClearPinBlock(to.format, pin, to.format === 1 ? undefined : this.account(owner)));
  }

  async checkPinBlock(input: PinInput): Promise<boolean> {
    try {
      this.openPin(input);
      return true;
    } catch (err) {
      if (err instanceof CryptoInputError && err.code === 'pin_block_invalid') return false;
      throw err;
    }
  }

  async translatePin(input: PinInput, to: PinBlockRef & { readonly pan?: string }): Promise<Buffer> {
    const pin = this.openPin(input);
    const owner: PinOwner = to.pan !== undefined ? { pan: to.pan } : input;
    return this.sealPin(pin, to, owner);
  }

  private pvv(pin: string, pan: string, params: PvvParams): string {
    const pvk = this.load(params.pvk, 'pvk', 'PVV');
    return visaPvv(pvk.cipher, pan, params.pvki, pin);
  }

  private cardPan(input: PinInput): string {
    if (input.pan === undefined) throw new CryptoInputError('pan_required', 'card PIN verification needs the PAN');
    return input.pan;
  }

  async generatePvv(input: PinInput, params: PvvParams): Promise<string> {
    return this.pvv(this.openPin(input), this.cardPan(input), params);
  }

  async verifyPvv(input: PinInput, params: PvvParams & { readonly pvv: string }): Promise<boolean> {
    const computed = this.pvv(this.openPin(input), this.cardPan(input), params);
    return params.pvv.length === 4 && timingSafeEqual(Buffer.from(computed), Buffer.from(params.pvv));
  }

  async issuePvv(pan: string, clearPin: string, params: PvvParams): Promise<string> {
    return this.pvv(clearPin, pan, params);
  }

  private ibm(params: Ibm3624Params, pan: string): { cipher: BlockCipher; table: string; data: string } {
    const pvk = this.load(params.pvk, 'pvk', 'IBM 3624');
    return {
      cipher: pvk.cipher,
      table: params.decimalizationTable ?? DEFAULT_DECIMALIZATION_TABLE,
      data: params.validationData ?? defaultValidationData(pan),
    };
  }

  async generateIbm3624Offset(input: PinInput, params: Ibm3624Params): Promise<string> {
    const pin = this.openPin(input);
    const { cipher, table, data } = this.ibm(params, this.cardPan(input));
    return ibm3624Offset(cipher, data, table, pin);
  }

  async verifyIbm3624(input: PinInput, params: Ibm3624Params & { readonly offset: string }): Promise<boolean> {
    const pin = this.openPin(input);
    const { cipher, table, data } = this.ibm(params, this.cardPan(input));
    if (params.offset.length !== pin.length) return false;
    const expected = ibm3624PinFromOffset(cipher, data, table, params.offset);
    return timingSafeEqual(Buffer.from(expected), Buffer.from(pin));
  }

  // ---- card verification values ----

  async generateCvv(block: KeyBlock, card: CardData): Promise<string> {
    const cvk = this.load(block, 'cvk', 'CVV');
    this.expect(cvk, 'tdes', 'CVV');
    if (cvk.header.length !== 16) throw new HsmError('invalid_input', 'a CVK is a double-length TDES key (A‖B)');
    cvk.leftHalf ??= tdesEcb(cvk.clear.subarray(0, 8));
    return cardVerificationValue(cvk.leftHalf, cvk.cipher, card.pan, card.expiry, card.serviceCode);
  }

  async verifyCvv(block: KeyBlock, card: CardData, cvv: string): Promise<boolean> {
    const expected = await this.generateCvv(block, card);
    return cvv.length === 3 && timingSafeEqual(Buffer.from(expected), Buffer.from(cvv));
  }

  // ---- EMV application cryptograms ----

  async verifyArqc(block: KeyBlock, card: ChipCryptogram): Promise<boolean> {
    if (card.arqc.length !== 8) return false;
    const expected = applicationCryptogram(this.chipSessionKey(block, card), card.data);
    return timingSafeEqual(expected, Buffer.from(card.arqc));
  }

  async generateArpc(block: KeyBlock, card: ChipCryptogram, arc: Uint8Array): Promise<Buffer> {
    return arpcMethod1(this.chipSessionKey(block, card), card.arqc, arc);
  }

  private chipSessionKey(block: KeyBlock, card: ChipCryptogram): Buffer {
    const imk = this.load(block, 'imk-ac', 'application cryptogram');
    this.expect(imk, 'tdes', 'application cryptogram');
    return applicationCryptogramSessionKey(deriveIccMasterKey(imk.clear, card.pan, card.psn), card.atc);
  }

  // ---- DUKPT ----

  async translateDukptPin(bdkBlock: KeyBlock, ksn: Uint8Array, input: PinOwner & { readonly block: Uint8Array }, to: PinBlockRef): Promise<Buffer> {
    const bdk = this.load(bdkBlock, 'bdk', 'DUKPT');
    let pin: string;
    if (bdk.header.algorithm === 'tdes') {
      const keys = tdesDukptKeys(bdk.clear, Buffer.from(ksn));
      if (input.block.length !== 8) throw new CryptoInputError('pin_block_invalid', 'PIN block does not decode: TDES DUKPT PIN blocks are 8 bytes');
      pin = decodeClearPinBlock(0, tdesEcb(keys.pinKey).decrypt(input.block), this.account(input));
    } else {
      const keys = aesDukptKeys(bdk.clear, Buffer.from(ksn));
      if (input.pan === undefined) throw new CryptoInputError('pan_required', 'PIN block format 4 needs the PAN');
      pin = decipherFormat4(aesEcb(keys.pinKey), Buffer.from(input.block), input.pan);
    }
    return this.sealPin(pin, to, input);
  }

  // ---- terminal activation ----

  async activateTerminal(request: { tid: string; mid: string; request62: Uint8Array; terminalPublicKey: Uint8Array }): Promise<{ tmk: KeyWithCheck; response62: Buffer }> {
    const ecdh = createECDH('prime256v1');
    const hostPublic = ecdh.generateKeys();
    let shared: Buffer;
    try {
      shared = ecdh.computeSecret(request.terminalPublicKey);
    } catch {
      throw new HsmError('invalid_input', 'the terminal public key is not a P-256 point');
    }
    const key = activationKey(shared, activationInfo(request.tid, request.mid, request.request62, hostPublic));
    const clear = generateTdesKey(16);
    const nonce = randomBytes(12);
    const { ciphertext, tag } = sealTmk(key, nonce, clear, activationAad(request.tid, request.mid));
    const kcv = tdesKcv(clear, 4);
    const tmk = this.admit({ algorithm: 'tdes', length: 16, usage: 'tmk' }, clear);
    return { tmk, response62: Buffer.concat([Buffer.from([0x01]), hostPublic, nonce, ciphertext, tag, kcv]) };
  }

  // ---- PANs at rest ----

  panHash(pan: string): string {
    requireDigits(pan, 'PAN', 12, 19);
    return createHmac('sha256', this.#lmk.panHashKey).update(pan).digest('hex');
  }

  auditSeal(data: string): string {
    return createHmac('sha256', this.#lmk.auditKey).update(data).digest('hex');
  }

  protectPan(pan: string): ProtectedPan {
    const hash = this.panHash(pan);
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#lmk.panEncryptionKey, nonce).setAAD(Buffer.from('pan'));
    const ciphertext = Buffer.concat([nonce, cipher.update(pan, 'latin1'), cipher.final(), cipher.getAuthTag()]).toString('base64url');
    return { hash, ciphertext, masked: maskPan(pan) };
  }

  // ---- operator passwords ----

  /**
   * Passwords and codes are hashed with argon2id keyed by a secret derived from the LMK (argon2's
   * own K input), marked `k1$` before the PHC string. A POS password has 4 to 8 digits: unkeyed,
   * its hash falls to 10^4–10^8 offline guesses; keyed, a copy of the database alone allows none.
   * Hashes made before the key (no mark) still verify; the first right password block replaces
   * them (verifyPasswordBlock's `rehashed`).
   */
  async hashPassword(clear: string): Promise<string> {
    return KEYED + (await argon2Hash(clear, { ...ARGON2, secret: this.#lmk.passwordSecret }));
  }

  async verifyPassword(clear: string, hash: string): Promise<boolean> {
    try {
      if (hash.startsWith(KEYED)) return await argon2Verify(hash.slice(KEYED.length), clear, { secret: this.#lmk.passwordSecret });
      return await argon2Verify(hash, clear);
    } catch {
      return false;
    }
  }

  async verifyPasswordBlock(input: PinInput, hash: string): Promise<PasswordVerdict> {
    const password = this.openPin(input);
    if (!(await this.verifyPassword(password, hash))) return { ok: false };
    return hash.startsWith(KEYED) ? { ok: true } : { ok: true, rehashed: await this.hashPassword(password) };
  }

  async newPasswordFromBlock(input: PinInput, rules: { readonly length: number; readonly previousHashes: readonly string[] }): Promise<NewPasswordResult> {
    const password = this.openPin(input);
    if (password.length !== rules.length) return { ok: false, reason: 'length' };
    if (weakPinReason(password) !== null) return { ok: false, reason: 'weak' };
    for (const previous of rules.previousHashes) {
      if (await this.verifyPassword(password, previous)) return { ok: false, reason: 'reused' };
    }
    return { ok: true, hash: await this.hashPassword(password) };
  }

  // ---- data ----

  async encryptData(block: KeyBlock, data: Uint8Array): Promise<Buffer> {
    return this.load(block, 'data', 'data encryption').cipher.encrypt(data);
  }

  async decryptData(block: KeyBlock, data: Uint8Array): Promise<Buffer> {
    return this.load(block, 'data', 'data decryption').cipher.decrypt(data);
  }
}

