import type { KcvMethod, PinBlockFormat } from '../crypto/index.js';
import type { KeyAlgorithm, KeyBlock, KeyUsage } from './key-block.js';

/**
 * The one interface through which posgate uses keys. The software HSM implements it in-process; a
 * network HSM (Thales payShield, Futurex, a cloud payment HSM) can implement it later without the
 * callers changing. Keys are `KeyBlock`s: LMK-wrapped handles, never clear bytes. Clear PINs never
 * come out: PIN blocks go in and come out re-enciphered, or a yes/no comes out.
 */
export interface KeySpec {
  readonly algorithm: KeyAlgorithm;
  /** bytes: TDES 8/16/24, AES 16/24/32 */
  readonly length: number;
  readonly usage: KeyUsage;
}

export interface KeyWithCheck {
  readonly key: KeyBlock;
  /** upper-case hex, `kcvLength` bytes (default 3) */
  readonly kcv: string;
}

export type MacAlgorithm = 'cup-ecb' | 'iso9797-1-m1' | 'iso9797-1-m3' | 'aes-cmac';

/** A PIN block and the key and format it is under. Formats 0, 1, 3 use a TDES key; format 4 an AES key. */
export interface PinBlockRef {
  readonly key: KeyBlock;
  readonly format: PinBlockFormat;
}

/**
 * Whose PIN: `pan` for card PINs. Operator password blocks (protocol §10.2) bind the terminal ID
 * instead: `account` gives the 12 account digits directly.
 */
export type PinOwner = { readonly pan: string; readonly account?: undefined } | { readonly account: string; readonly pan?: undefined };

export type PinInput = PinOwner & { readonly block: Uint8Array; readonly under: PinBlockRef };

export interface PvvParams {
  readonly pvk: KeyBlock;
  readonly pvki: string;
}

export interface Ibm3624Params {
  readonly pvk: KeyBlock;
  /** 16 decimal digits; default 0123456789012345 */
  readonly decimalizationTable?: string;
  /** 16 hex digits; default the 12 PAN digits left of the check digit padded with F */
  readonly validationData?: string;
}

export interface CardData {
  readonly pan: string;
  /** YYMM */
  readonly expiry: string;
  readonly serviceCode: string;
}

/** One chip transaction's cryptogram as the issuer receives it. */
export interface ChipCryptogram {
  readonly pan: string;
  /** PAN sequence number, 2 digits ("00" when the card has none) */
  readonly psn: string;
  /** application transaction counter, 2 bytes */
  readonly atc: Uint8Array;
  /** what the cryptogram covers (crypto/emv.ts arqcData) */
  readonly data: Uint8Array;
  readonly arqc: Uint8Array;
}

/** A PAN as it may be stored: keyed hash for look-ups, ciphertext, masked form (first 6, last 4). */
export interface ProtectedPan {
  readonly hash: string;
  readonly ciphertext: string;
  readonly masked: string;
}

export type NewPasswordResult = { readonly ok: true; readonly hash: string } | { readonly ok: false; readonly reason: 'length' | 'weak' | 'reused' };

/** What a password block check found; `rehashed` only for a right password under an older hash. */
export interface PasswordVerdict {
  readonly ok: boolean;
  readonly rehashed?: string;
}

export interface Hsm {
  /** identifies the LMK (not secret) */
  readonly lmkId: string;

  generateKey(spec: KeySpec, kcvLength?: number): Promise<KeyWithCheck>;
  /** Key ceremony / demo: clear key bytes in, handle out; checked against `expectedKcv` when given. */
  importClearKey(spec: KeySpec, clear: Uint8Array, expectedKcv?: string): Promise<KeyWithCheck>;
  /** A key enciphered under a KEK/TMK we hold (TDES ECB under TDES, AES key wrap under AES). */
  importKey(spec: KeySpec, kek: KeyBlock, wrapped: Uint8Array, expectedKcv?: string): Promise<KeyWithCheck>;
  exportKey(key: KeyBlock, kek: KeyBlock, kcvLength?: number): Promise<{ readonly wrapped: Buffer; readonly kcv: string }>;
  keyCheckValue(key: KeyBlock, options?: { method?: KcvMethod; length?: number }): Promise<string>;
  describeKey(key: KeyBlock): KeySpec;

  generateMac(key: KeyBlock, algorithm: MacAlgorithm, data: Uint8Array, padding?: 1 | 2): Promise<Buffer>;
  verifyMac(key: KeyBlock, algorithm: MacAlgorithm, data: Uint8Array, mac: Uint8Array, padding?: 1 | 2): Promise<boolean>;

  /** Whether a PIN block decodes under its key and format (protocol §7 step 13: otherwise 99). */
  checkPinBlock(input: PinInput): Promise<boolean>;
  /** Re-enciphers a PIN block under another key and/or format without exposing the PIN. */
  translatePin(input: PinInput, to: PinBlockRef & { readonly pan?: string }): Promise<Buffer>;
  /** The PIN's Visa PVV, for setting a PIN from a PIN block (PIN change, issuance). */
  generatePvv(input: PinInput, params: PvvParams): Promise<string>;
  verifyPvv(input: PinInput, params: PvvParams & { readonly pvv: string }): Promise<boolean>;
  /** PIN issuance for test cards and the issuer simulator: a clear PIN enters, only the PVV leaves. */
  issuePvv(pan: string, clearPin: string, params: PvvParams): Promise<string>;
  generateIbm3624Offset(input: PinInput, params: Ibm3624Params): Promise<string>;
  verifyIbm3624(input: PinInput, params: Ibm3624Params & { readonly offset: string }): Promise<boolean>;

  generateCvv(cvk: KeyBlock, card: CardData): Promise<string>;
  verifyCvv(cvk: KeyBlock, card: CardData, cvv: string): Promise<boolean>;

  /**
   * EMV, issuer side: whether `arqc` is the card's cryptogram over `data` (crypto/emv.ts: card key by
   * Option A from the issuer master key, session key from the ATC, MAC algorithm 3 padding 2).
   */
  verifyArqc(imk: KeyBlock, card: ChipCryptogram): Promise<boolean>;
  /** The ARPC (method 1, under the session key) answering that ARQC with the 2-byte response code `arc`. */
  generateArpc(imk: KeyBlock, card: ChipCryptogram, arc: Uint8Array): Promise<Buffer>;

  /** PIN block from a DUKPT terminal (TDES: format 0, 10-byte KSN; AES: format 4, 12-byte KSN) re-enciphered under `to`. */
  translateDukptPin(bdk: KeyBlock, ksn: Uint8Array, input: PinOwner & { readonly block: Uint8Array }, to: PinBlockRef): Promise<Buffer>;

  /**
   * Terminal activation (protocol §10.1): a new TMK under the LMK, and response field 62 carrying
   * it under the ECDH-derived key. Throws HsmError `invalid_input` for a public key off the curve.
   */
  activateTerminal(request: { readonly tid: string; readonly mid: string; readonly request62: Uint8Array; readonly terminalPublicKey: Uint8Array }): Promise<{ readonly tmk: KeyWithCheck; readonly response62: Buffer }>;

  /** PANs at rest: only ever this (keys derived from the LMK inside the module). */
  protectPan(pan: string): ProtectedPan;
  panHash(pan: string): string;
  /** The seal of an audit-log entry (HMAC-SHA256 under a key derived from the LMK), hex: only the holder of the LMK can extend or rewrite the chain. */
  auditSeal(data: string): string;

  /** argon2id hash, keyed inside the module, of a password or code that enters in clear (demo seeding, activation codes, portal-set passwords). */
  hashPassword(clear: string): Promise<string>;
  /** Checks a password or code that arrived in clear (an activation code, §10.1) against a hash of `hashPassword`. */
  verifyPassword(clear: string, hash: string): Promise<boolean>;
  /**
   * Checks a password block (operator verification, protocol §10.2) against an argon2id hash. When
   * the password is right and `hash` is of an older, unkeyed form, `rehashed` is its keyed hash,
   * to be stored in its place.
   */
  verifyPasswordBlock(input: PinInput, hash: string): Promise<PasswordVerdict>;
  /**
   * A new password from a block (§10.3): `length` digits, not weak (one digit repeated, an
   * ascending or descending run), not the current or a recent one (`previousHashes`).
   */
  newPasswordFromBlock(input: PinInput, rules: { readonly length: number; readonly previousHashes: readonly string[] }): Promise<NewPasswordResult>;

  /** ECB encryption with a `data` key (track data under the TDK, protocol §6.6). */
  encryptData(key: KeyBlock, data: Uint8Array): Promise<Buffer>;
  decryptData(key: KeyBlock, data: Uint8Array): Promise<Buffer>;
}
