import { createECDH } from 'node:crypto';
import {
  activationAad,
  activationInfo,
  activationKey,
  buildActivationRequest,
  CryptoInputError,
  cupEcbMacWith,
  encodeClearPinBlock,
  maskPan,
  openTmk,
  pinBlockAccount,
  tdesEcb,
  tdesKcv,
  type BlockCipher,
} from '../crypto/index.js';
import { cup, Iso8583Error, IsoMessage, packCupFrame, unpackCupFrame, type CupFrame, type FieldValue } from '../iso8583/index.js';
import type { BatchEntry, PendingReversal, TerminalState, TerminalStorage } from './storage.js';
import { Connection, TimeoutError, type Endpoint } from './transport.js';
import type { ChipCardSimulator } from './chip-card-simulator.js';
import { TerminalError } from './errors.js';

/**
 * The software POS terminal: the terminal side of the posgate protocol as a library, used by the
 * CLI terminal, the browser terminal, the load generator and the tests. It is also the PIN pad:
 * PINs and operator passwords are turned into PIN blocks here and never leave in clear.
 */
export type EntryMode = 'swipe' | 'chip' | 'tap' | 'keyed' | 'fallback';

const ENTRY_CODES: Record<EntryMode, string> = { keyed: '01', swipe: '02', chip: '05', tap: '07', fallback: '80' };

export interface CardPresentation {
  readonly entry: EntryMode;
  readonly pan: string;
  readonly expiry: string; // YYMM
  readonly serviceCode?: string;
  /** the stripe as read (`=` separator, CVV in its discretionary data); swipes send it, else one is built without a CVV */
  readonly track2?: string;
  readonly cardSequence?: string;
  /** field 55 for chip and contactless, as given */
  readonly icc?: Buffer;
  /** a (simulated) chip to read for chip and contactless entry: it makes field 55 with its ARQC, and 23 */
  readonly chip?: ChipCardSimulator;
}

export interface TerminalOptions {
  readonly tid: string;
  readonly mid: string;
  readonly endpoint: Endpoint;
  readonly storage: TerminalStorage;
  readonly nii?: string;
  /** software version, MAJOR.MINOR.PATCH, sent in the header */
  readonly version?: string;
  readonly operator?: string;
  readonly responseTimeoutMs?: number;
  readonly reversalAttempts?: number;
  /** keep one connection open between exchanges (default) or connect per exchange */
  readonly longLived?: boolean;
  /** sign in with 004 and encipher tracks with the TDK (default true) */
  readonly encryptTracks?: boolean;
  /** keep approved transactions for settlement and voids (default true; a load generator turns it off) */
  readonly keepBatchLog?: boolean;
  /** on a long-lived connection, send an echo test (0820/301) after this long without traffic (§1.4: 120 s); 0 turns it off */
  readonly echoIdleMs?: number;
  /** told when a full batch (`BATCH_SETTLE_AT` transactions) was settled before a new request */
  readonly onForcedSettlement?: (settlement: Settlement) => void;
}

/** What a settlement (0500) came to; `rc` is empty when the host did not answer. */
export interface Settlement {
  readonly rc: string;
  readonly balanced: boolean;
  readonly batch: number;
  readonly totals: string;
  readonly uploaded: number;
  /** the host's date (MMDD, field 13) and time (hhmmss, field 12) of the settlement, when it answered */
  readonly date?: string;
  readonly time?: string;
}

/** Operators who sell: cashiers 01 to 98 (00 is the supervisor, 99 the administrator; §10.2). */
export const CASHIER = /^(0[1-9]|[1-8][0-9]|9[0-8])$/;

/** The transaction types (60.1) a settlement counts and a batch upload carries (§4.6): sales, completions, refunds. */
const SETTLED_TYPES = new Set(['22', '20', '25']);

/**
 * §4.6: the settlement counts are three digits, and posgate terminals settle at 500 transactions:
 * a request that would be the 501st of the batch is sent only after the batch is settled.
 */
export const BATCH_SETTLE_AT = 500;

export interface Result {
  readonly rc: string;
  readonly approved: boolean;
  /** decoded response fields; absent when no response came */
  readonly response?: IsoMessage;
  readonly stan: string;
  readonly batch: number;
  readonly rrn?: string;
  readonly authCode?: string;
  /** the host's local date (MMDD, field 13) and time (hhmmss, field 12) of the transaction */
  readonly date?: string;
  readonly time?: string;
  readonly cardOrg?: string;
  /**
   * Why an answered or unanswered request is not concluded: 'no_response', 'mac_failure',
   * 'result_unknown', or 'card_declined' (approved by the host, refused by the chip: reversed)
   */
  readonly problem?: 'no_response' | 'mac_failure' | 'result_unknown' | 'card_declined';
}

export interface SaleResult extends Result {
  /** the approved transaction's line in the batch log, from which its receipt is printed (and reprinted) */
  readonly journal?: BatchEntry;
  readonly amountFen: number;
  readonly panMasked: string;
  readonly passwordFree: boolean;
  readonly noSignature: boolean;
  readonly balanceFen?: number;
  /** chip reads: whether the issuer's ARPC in the response proved it saw this card's ARQC (absent: none came) */
  readonly issuerAuthenticated?: boolean;
}

/**
 * What the encoders refuse in what was typed (a PIN that is not 4 to 12 digits, a code too long for
 * its field) is the terminal's invalid_input: found before anything is sent or a reversal written.
 */
function mistypedAsInvalidInput<T>(encode: () => T): T {
  try {
    return encode();
  } catch (err) {
    if (err instanceof CryptoInputError || err instanceof Iso8583Error) throw new TerminalError('invalid_input', err.message);
    throw err;
  }
}

const REVERSAL_COPIES = [2, 3, 4, 11, 14, 22, 23, 25, 38, 41, 42, 49, 55, 60, 61];

/** The chip's check of the issuer's answer to its ARQC, when a chip was read and the response carried one. */
function issuerAuthentication(card: CardPresentation, res: Result): { issuerAuthenticated?: boolean } {
  if (!card.chip || (card.entry !== 'chip' && card.entry !== 'tap')) return {};
  const f55 = res.response?.get(55);
  const verdict = card.chip.checkIssuerAuthentication(Buffer.isBuffer(f55) ? f55 : undefined);
  return verdict === undefined ? {} : { issuerAuthenticated: verdict };
}

function nextStan(stan: number): number {
  return stan >= 999_999 ? 1 : stan + 1;
}

export class SoftTerminal {
  private state: TerminalState;
  private connection?: Connection;
  private connectFailure?: string;
  private mac?: BlockCipher;
  /** the operator named in sign-ins, settlements and the batch log: `options.operator`, then whoever signs in (signInOperator) */
  private operatorNo: string;
  private readonly options: Required<Omit<TerminalOptions, 'endpoint' | 'storage'>> & Pick<TerminalOptions, 'endpoint' | 'storage'>;

  constructor(options: TerminalOptions) {
    this.options = {
      nii: '0003',
      version: '1.2.0',
      operator: '01',
      responseTimeoutMs: 60_000,
      reversalAttempts: 3,
      longLived: true,
      encryptTracks: true,
      keepBatchLog: true,
      echoIdleMs: 120_000,
      onForcedSettlement: () => undefined,
      ...options,
    };
    this.state = options.storage.load() ?? { batch: 1, stan: 0, signedIn: false, batchLog: [] };
    this.operatorNo = this.options.operator;
  }

  get operator(): string {
    return this.operatorNo;
  }

  get tid(): string {
    return this.options.tid;
  }
  get batch(): number {
    return this.state.batch;
  }
  /** the last STAN this terminal used (0 before its first message) */
  get stan(): number {
    return this.state.stan;
  }
  get signedIn(): boolean {
    return this.state.signedIn;
  }
  get hasTmk(): boolean {
    return this.state.tmk !== undefined;
  }
  get pendingReversal(): PendingReversal | undefined {
    return this.state.pendingReversal;
  }
  get batchLog(): readonly BatchEntry[] {
    return this.state.batchLog;
  }
  /** the last settlement the host answered 00, for its slip to be printed again */
  get lastSettlement(): Settlement | undefined {
    return this.state.lastSettlement;
  }
  get passwordFreeParameters(): Readonly<Record<string, string>> | undefined {
    return this.state.qps;
  }

  /** Installs a TMK injected outside the protocol (key ceremony, or the documented demo keys). */
  injectTmk(tmkHex: string): void {
    this.state.tmk = tmkHex.toUpperCase();
    this.state.signedIn = false;
    this.save();
  }

  /** Working keys injected outside the protocol (a lab bench with no host to sign in to). */
  injectWorkingKeys(keys: { pik: string; mak: string; tdk?: string }): void {
    this.state = { ...this.state, pik: keys.pik.toUpperCase(), mak: keys.mak.toUpperCase(), signedIn: true, ...(keys.tdk ? { tdk: keys.tdk.toUpperCase() } : {}) };
    this.mac = undefined;
    this.save();
  }

  private save(): void {
    this.options.storage.save(this.state);
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.connection?.close();
    this.connection = undefined;
  }

  private idleTimer?: NodeJS.Timeout;
  private busy = false;

  /** Re-arms the idle echo after every exchange on a long-lived connection. */
  private armIdleEcho(): void {
    if (!this.options.longLived || !this.options.echoIdleMs) return;
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (!this.busy && this.connection?.alive) void this.echo().catch(() => undefined);
    }, this.options.echoIdleMs);
    this.idleTimer.unref();
  }

  // ---- framing ----

  private header(): { tpdu: CupFrame['tpdu']; header: CupFrame['header'] } {
    const [major, minor, patch] = this.options.version.split('.').map((n) => String(Number(n)).padStart(2, '0'));
    return {
      tpdu: { id: '60', destination: this.options.nii, source: '0000' },
      header: { applicationType: '60', specVersion: '31', terminalStatus: '0', processingRequest: '0', subVersion: `${major}${minor}${patch}` },
    };
  }

  private takeStan(): string {
    this.state.stan = nextStan(this.state.stan);
    this.save();
    return String(this.state.stan).padStart(6, '0');
  }

  private macCipher(): BlockCipher {
    if (!this.state.mak) throw new TerminalError('not_signed_in', 'the terminal has no MAC key: sign in first');
    this.mac ??= tdesEcb(Buffer.from(this.state.mak, 'hex'));
    return this.mac;
  }

  /** Cipher objects per working key, made once per sign-in (a fresh 3DES cipher costs ~9 µs). */
  private ciphers = new Map<string, BlockCipher>();
  private cipher(keyHex: string): BlockCipher {
    let c = this.ciphers.get(keyHex);
    if (!c) {
      if (this.ciphers.size > 8) this.ciphers.clear();
      c = tdesEcb(Buffer.from(keyHex, 'hex'));
      this.ciphers.set(keyHex, c);
    }
    return c;
  }

  /** The framed request, MACed when it is MAC-bearing; a field that cannot be encoded (a mistyped code) is invalid_input. */
  private pack(message: IsoMessage, macBearing: boolean): Buffer {
    const { tpdu, header } = this.header();
    if (macBearing) message.set(64, Buffer.alloc(8));
    const frame = mistypedAsInvalidInput(() => packCupFrame(cup, { tpdu, header, message }, true));
    if (macBearing) cupEcbMacWith(this.macCipher(), frame, 13, frame.length - 8).copy(frame, frame.length - 8);
    return frame;
  }

  private async connection_(): Promise<Connection> {
    if (this.connection?.alive) return this.connection;
    try {
      this.connection = await Connection.open(this.options.endpoint);
    } catch (err) {
      this.connectFailure = (err as Error).message;
      throw err;
    }
    this.connectFailure = undefined;
    return this.connection;
  }

  /** Why the last attempt to reach the host failed (refused, timed out, a certificate not trusted); cleared by a connection. */
  get connectionProblem(): string | undefined {
    return this.connectFailure;
  }

  /**
   * Sends one request and waits for its response (matching MTI+10, 41 and 11; anything else is
   * discarded, §1.4). Undefined when no response came in time or the connection failed.
   */
  /** Exchanges are strictly sequential on a connection (§1.4): an idle echo and a sale never overlap. */
  private readonly waiting: (() => void)[] = [];

  private async exchange(message: IsoMessage, macBearing: boolean, packed?: Buffer): Promise<{ frame: CupFrame; raw: Buffer } | undefined> {
    if (this.busy) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.busy = true;
    try {
      return await this.exchangeOnce(message, macBearing, packed);
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // hand over: stays busy
      else {
        this.busy = false;
        this.armIdleEcho();
      }
    }
  }

  private async exchangeOnce(message: IsoMessage, macBearing: boolean, packed?: Buffer): Promise<{ frame: CupFrame; raw: Buffer } | undefined> {
    const frame = packed ?? this.pack(message, macBearing);
    const wantMti = message.mti.slice(0, 2) + String(Number(message.mti.slice(2)) + 10).padStart(2, '0');
    const deadline = Date.now() + this.options.responseTimeoutMs;
    let conn: Connection;
    try {
      conn = await this.connection_();
      conn.send(frame);
    } catch {
      this.close();
      return undefined;
    }
    try {
      for (;;) {
        const raw = await conn.receive(Math.max(1, deadline - Date.now()));
        let decoded: CupFrame;
        try {
          decoded = unpackCupFrame(cup, raw, true);
        } catch (err) {
          if (err instanceof Iso8583Error) continue;
          throw err;
        }
        const m = decoded.message;
        const swapped = decoded.tpdu.destination === '0000' && decoded.tpdu.source === this.options.nii;
        // §5.5: MTI, 11, 41 and 42 must be the request's, else the response is someone else's
        if (!swapped || m.mti !== wantMti || m.get(41) !== message.get(41) || m.get(42) !== message.get(42) || m.get(11) !== message.get(11)) continue;
        if ((message.has(3) && m.get(3) !== message.get(3)) || (message.has(4) && m.get(4) !== message.get(4))) return undefined;
        if (!this.options.longLived) this.close();
        this.state.requested = decoded.header.processingRequest;
        return { frame: decoded, raw };
      }
    } catch (err) {
      if (!(err instanceof TimeoutError)) this.close();
      return undefined;
    }
  }

  private macValid(raw: Buffer, frame: CupFrame): boolean {
    const mac = frame.message.get(64);
    if (!Buffer.isBuffer(mac) || !this.state.mak) return false;
    return cupEcbMacWith(this.macCipher(), raw, 13, raw.length - 8).equals(mac);
  }

  // ---- processing requests and reversals ----

  /** Acts on what the last response header asked: 3 sign in again, 9 download QPS parameters (§1.3). */
  private async honourRequests(): Promise<void> {
    const requested = this.state.requested;
    if (requested === '3') {
      this.state.requested = '0';
      await this.signIn();
    } else if (requested === '9') {
      this.state.requested = '0';
      await this.downloadPasswordFreeParameters();
    }
  }

  /** Sends the pending reversal, up to `reversalAttempts` times; cleared by any matching 0410 (§8.1). */
  async flushReversal(): Promise<boolean> {
    const pending = this.state.pendingReversal;
    if (!pending) return true;
    for (let attempt = 0; attempt < this.options.reversalAttempts; attempt++) {
      const m = new IsoMessage('0400');
      for (const [k, v] of Object.entries(pending.fields)) m.set(Number(k), Number(k) === 55 ? Buffer.from(v, 'hex') : v);
      m.set(39, pending.reason);
      const r = await this.exchange(m, true);
      if (r) {
        if (r.frame.message.get(39) === '00') {
          const entry = this.state.batchLog.find((e) => e.stan === pending.fields['11']);
          if (entry) entry.status = 'reversed';
          const type = pending.fields['60']?.slice(0, 2);
          if (type === '23' || type === '21') this.unvoid(pending.fields['61'] ?? '');
        }
        this.state.pendingReversal = undefined;
        this.save();
        return true;
      }
    }
    return false;
  }

  private unvoid(field61: string): void {
    const entry = this.state.batchLog.find((e) => e.stan === field61.slice(6, 12));
    if (entry && entry.status === 'voided') entry.status = 'approved';
  }

  private async beforeFinancial(): Promise<void> {
    if (!this.state.tmk) throw new TerminalError('not_activated', 'the terminal has no TMK: activate it first');
    await this.honourRequests();
    if (!this.state.signedIn) throw new TerminalError('not_signed_in', 'sign in first');
    if (!(await this.flushReversal())) throw new TerminalError('reversal_pending', 'a reversal is still pending: the host did not answer it');
    if (this.state.batchLog.length >= BATCH_SETTLE_AT) {
      const settlement = await this.settle();
      if (settlement.rc !== '00') throw new TerminalError('settlement_required', `the batch holds ${BATCH_SETTLE_AT} transactions and must be settled first; the host ${settlement.rc ? `answered ${settlement.rc}` : 'did not answer'}`);
      this.options.onForcedSettlement(settlement);
    }
  }

  private rememberReversal(message: IsoMessage): void {
    const fields: Record<string, string> = {};
    for (const n of REVERSAL_COPIES) {
      const v = message.get(n);
      if (v !== undefined) fields[String(n)] = typeof v === 'string' ? v : v.toString('hex').toUpperCase();
    }
    this.state.pendingReversal = { mti: message.mti, fields, reason: '98' };
    this.save();
  }

  // ---- card data ----

  private cardFields(m: IsoMessage, card: CardPresentation, pin: string | undefined): void {
    const code = ENTRY_CODES[card.entry];
    m.set(22, `${code}${pin !== undefined ? '1' : '2'}`);
    const magnetic = card.entry === 'swipe' || card.entry === 'fallback';
    if (!magnetic) {
      m.set(2, card.pan);
      // 14 is conditional (C2): a void keyed from the batch log knows no expiry date
      if (card.expiry) m.set(14, card.expiry);
    }
    if (card.cardSequence) m.set(23, card.cardSequence);
    if (card.icc) m.set(55, card.icc);
    if (card.chip && (card.entry === 'chip' || card.entry === 'tap')) {
      const amount = m.get(4);
      m.set(23, card.chip.cardSequence).set(55, card.chip.generateArqc({ amountFen: typeof amount === 'string' ? Number(amount) : 0, type: String(m.get(3)).slice(0, 2) }));
    }
    const encrypt = this.options.encryptTracks && this.state.tdk !== undefined;
    if (magnetic) m.set(35, this.track2(card, encrypt));
    if (pin !== undefined) {
      if (!this.state.pik) throw new TerminalError('not_signed_in', 'the terminal has no PIN key: sign in first');
      // refused before anything is sent or a reversal is written
      const block = this.cipher(this.state.pik).encrypt(mistypedAsInvalidInput(() => encodeClearPinBlock(0, pin, pinBlockAccount(card.pan))));
      m.set(26, '12').set(52, block);
    }
    if (pin !== undefined || (encrypt && magnetic)) m.set(53, `${pin !== undefined ? '2' : '0'}6${encrypt && magnetic ? '1' : '0'}0000000000000`);
  }

  /** Track 2 as nibbles with D; when enciphering, bytes L−9…L−2 of the packed value under the TDK (§6.6). */
  private track2(card: CardPresentation, encrypt: boolean): string {
    const clear = card.track2 !== undefined ? card.track2.replace('=', 'D') : `${card.pan}D${card.expiry}${card.serviceCode ?? '101'}${'0'.repeat(Math.max(0, 37 - card.pan.length - 8))}`.slice(0, 37);
    if (!encrypt) return clear;
    const packed = Buffer.from(clear.length % 2 ? `${clear}0` : clear, 'hex');
    const L = packed.length;
    this.cipher(this.state.tdk!).encrypt(packed.subarray(L - 9, L - 1)).copy(packed, L - 9);
    return packed.toString('hex').toUpperCase().slice(0, clear.length);
  }

  private field60(type: string, code = '000'): string {
    return `${type}${String(this.state.batch).padStart(6, '0')}${code}600`;
  }

  private financial(mti: string, processingCode: string, type: string, amountFen: number | undefined, condition = '00'): IsoMessage {
    const m = new IsoMessage(mti).set(3, processingCode).set(11, this.takeStan()).set(25, condition).set(41, this.options.tid).set(42, this.options.mid).set(49, '156').set(60, this.field60(type));
    if (amountFen !== undefined) m.set(4, String(amountFen).padStart(12, '0'));
    return m;
  }

  private result(request: IsoMessage, r: { frame: CupFrame; raw: Buffer } | undefined, problem?: Result['problem']): Result {
    const stan = String(request.get(11));
    const base = { stan, batch: this.state.batch };
    if (!r) return { ...base, rc: '', approved: false, problem: problem ?? 'no_response' };
    const m = r.frame.message;
    const rc = String(m.get(39));
    const text = (n: number) => (typeof m.get(n) === 'string' ? (m.get(n) as string).trimEnd() : undefined);
    return {
      ...base,
      rc,
      approved: rc === '00' && problem === undefined,
      response: m,
      ...(text(37) ? { rrn: text(37) } : {}),
      ...(text(38) ? { authCode: text(38) } : {}),
      ...(text(13) ? { date: text(13) } : {}),
      ...(text(12) ? { time: text(12) } : {}),
      ...(text(63) ? { cardOrg: text(63)!.slice(0, 3) } : {}),
      ...(problem ? { problem } : {}),
    };
  }

  /**
   * Sends a reversible request with its pending reversal written first (§8.1). The reversal stays
   * when no answer comes (98), when an approval's MAC is wrong (A0), and when the chip that was read
   * does not accept the issuer's answer to its cryptogram (06): the terminal cannot complete that
   * approval, so it is not approved here, and the reversal gives the money back before the next request.
   */
  private async reversible(m: IsoMessage, card?: CardPresentation): Promise<Result & { issuerAuthenticated?: boolean }> {
    // packed before the reversal is written: a request that cannot be encoded goes nowhere, and
    // leaves no reversal behind that could never be sent either
    const frame = this.pack(m, true);
    this.rememberReversal(m);
    const r = await this.exchange(m, true, frame);
    if (!r) return this.result(m, r);
    const approved = r.frame.message.get(39) === '00';
    if (approved && !this.macValid(r.raw, r.frame)) {
      this.keepReversal('A0', r.frame.message);
      return this.result(m, r, 'mac_failure');
    }
    const res = this.result(m, r);
    const chip = card ? issuerAuthentication(card, res) : {};
    if (approved && chip.issuerAuthenticated === false) {
      this.keepReversal('06', r.frame.message);
      return { ...this.result(m, r, 'card_declined'), ...chip };
    }
    this.state.pendingReversal = undefined;
    this.save();
    return { ...res, ...chip };
  }

  /** The pending reversal of an answered request stays, with its reason and the answer's 38 (§8.1). */
  private keepReversal(reason: 'A0' | '06', response: IsoMessage): void {
    this.state.pendingReversal!.reason = reason;
    const auth = response.get(38);
    if (typeof auth === 'string') this.state.pendingReversal!.fields['38'] = auth;
    this.save();
  }

  // ---- management ----

  /** 901 activation (§10.1): the TMK arrives under an ECDH-derived key. */
  async activate(serial: string, code: string): Promise<{ rc: string; tmkKcv?: string }> {
    const ecdh = createECDH('prime256v1');
    const pub = ecdh.generateKeys();
    const field62 = mistypedAsInvalidInput(() => buildActivationRequest(serial, code, pub));
    const m = new IsoMessage('0800').set(11, this.takeStan()).set(41, this.options.tid).set(42, this.options.mid).set(60, '00000000901').set(62, field62);
    const r = await this.exchange(m, false);
    if (!r) throw new TerminalError('activation_failed', 'no answer to the activation request');
    const rc = String(r.frame.message.get(39));
    if (rc !== '00') return { rc };
    const resp = r.frame.message.get(62);
    if (!Buffer.isBuffer(resp) || resp.length !== 114 || resp[0] !== 0x01) throw new TerminalError('activation_failed', 'malformed activation response');
    const hostPub = resp.subarray(1, 66);
    const key = activationKey(ecdh.computeSecret(hostPub), activationInfo(this.options.tid, this.options.mid, field62, hostPub));
    const tmk = openTmk(key, resp.subarray(66, 78), resp.subarray(78, 94), resp.subarray(94, 110), activationAad(this.options.tid, this.options.mid));
    if (!tmk || !tdesKcv(tmk, 4).equals(resp.subarray(110, 114))) throw new TerminalError('activation_failed', 'the TMK did not decrypt or failed its check value');
    this.state = { ...this.state, tmk: tmk.toString('hex').toUpperCase(), signedIn: false };
    delete this.state.pik;
    delete this.state.mak;
    delete this.state.tdk;
    this.mac = undefined;
    this.save();
    return { rc, tmkKcv: tdesKcv(tmk, 4).toString('hex').toUpperCase() };
  }

  /** Sign-in (003, or 004 with the track key): new working keys, checked against their KCVs (§6.2). */
  async signIn(operatorNo = this.operatorNo): Promise<{ rc: string; batch: number }> {
    if (!this.state.tmk) throw new TerminalError('not_activated', 'the terminal has no TMK: activate it first');
    const code = this.options.encryptTracks ? '004' : '003';
    for (let attempt = 0; attempt < 3; attempt++) {
      const m = new IsoMessage('0800').set(11, this.takeStan()).set(41, this.options.tid).set(42, this.options.mid).set(60, `00${String(this.state.batch).padStart(6, '0')}${code}`).set(63, `${operatorNo} `);
      const r = await this.exchange(m, false);
      if (!r) throw new TerminalError('sign_in_failed', `no answer to the sign-in${this.connectFailure ? ` (cannot connect: ${this.connectFailure})` : ''}`);
      const rc = String(r.frame.message.get(39));
      if (rc !== '00') return { rc, batch: this.state.batch };
      const keys = r.frame.message.get(62);
      const tmk = tdesEcb(Buffer.from(this.state.tmk, 'hex'));
      if (!Buffer.isBuffer(keys) || keys.length < 40) continue;
      const pik = tmk.decrypt(keys.subarray(0, 16));
      const makSlot = keys.subarray(20, 36);
      const single = makSlot.subarray(8).equals(Buffer.alloc(8));
      const mak = tmk.decrypt(single ? makSlot.subarray(0, 8) : makSlot);
      const checks = [tdesKcv(pik, 4).equals(keys.subarray(16, 20)), tdesKcv(mak, 4).equals(keys.subarray(36, 40))];
      let tdk: Buffer | undefined;
      if (keys.length >= 60) {
        tdk = tmk.decrypt(keys.subarray(40, 56));
        checks.push(tdesKcv(tdk, 4).equals(keys.subarray(56, 60)));
      }
      if (checks.some((ok) => !ok)) continue; // discard all new keys, stay not signed in, retry (§6.2)
      const batch = Number(String(r.frame.message.get(60)).slice(2, 8));
      this.state = { ...this.state, pik: pik.toString('hex').toUpperCase(), mak: mak.toString('hex').toUpperCase(), signedIn: true, batch };
      if (tdk) this.state.tdk = tdk.toString('hex').toUpperCase();
      else delete this.state.tdk;
      this.mac = undefined;
      this.save();
      return { rc, batch };
    }
    throw new TerminalError('sign_in_failed', 'the working keys failed their check values three times');
  }

  async signOut(): Promise<string> {
    await this.flushReversal();
    const m = new IsoMessage('0820').set(11, this.takeStan()).set(41, this.options.tid).set(42, this.options.mid).set(60, `00${String(this.state.batch).padStart(6, '0')}002`);
    const r = await this.exchange(m, false);
    this.state.signedIn = false;
    delete this.state.pik;
    delete this.state.mak;
    delete this.state.tdk;
    this.mac = undefined;
    this.save();
    return r ? String(r.frame.message.get(39)) : '';
  }

  async echo(): Promise<string> {
    const m = new IsoMessage('0820').set(11, this.takeStan()).set(41, this.options.tid).set(42, this.options.mid).set(60, `00${String(this.state.batch).padStart(6, '0')}301`);
    const r = await this.exchange(m, false);
    return r ? String(r.frame.message.get(39)) : '';
  }

  /** 394 then 395 (§9.3): the merchant's password-free parameters. */
  async downloadPasswordFreeParameters(): Promise<Record<string, string>> {
    const m = new IsoMessage('0800').set(11, this.takeStan()).set(41, this.options.tid).set(42, this.options.mid).set(60, `00${String(this.state.batch).padStart(6, '0')}394`);
    const r = await this.exchange(m, false);
    if (!r || r.frame.message.get(39) !== '00') throw new TerminalError('invalid_input', 'QPS parameter download failed');
    const text = (r.frame.message.get(62) as Buffer).toString('latin1');
    const params: Record<string, string> = {};
    for (let at = 0; at + 9 <= text.length; ) {
      const tag = text.slice(at, at + 6);
      const len = Number(text.slice(at + 6, at + 9));
      params[tag] = text.slice(at + 9, at + 9 + len);
      at += 9 + len;
    }
    const end = new IsoMessage('0800').set(11, this.takeStan()).set(41, this.options.tid).set(42, this.options.mid).set(60, `00${String(this.state.batch).padStart(6, '0')}395`);
    await this.exchange(end, false);
    this.state.qps = params;
    this.save();
    return params;
  }

  /** Operator verification (902): the password travels as a PIN block bound to the terminal ID. */
  async verifyOperator(operatorNo: string, password: string): Promise<string> {
    await this.honourRequests();
    const m = new IsoMessage('0820').set(11, this.takeStan()).set(41, this.options.tid).set(42, this.options.mid).set(52, this.passwordBlock(password)).set(53, '2600000000000000').set(60, `00${String(this.state.batch).padStart(6, '0')}902`).set(63, `${operatorNo} `);
    const r = await this.exchange(m, true);
    return r ? String(r.frame.message.get(39)) : '';
  }

  /**
   * Cashier sign-in (收银员签到): a cashier, operator 01 to 98, proves its password (902) and, on 00,
   * becomes the operator named in this terminal's sign-ins, settlements and batch log. The supervisor
   * (00) and the administrator (99) verify for their functions (verifyOperator) but do not sell.
   */
  async signInOperator(operatorNo: string, password: string): Promise<string> {
    if (!CASHIER.test(operatorNo)) throw new TerminalError('invalid_input', `operator ${operatorNo} cannot sign in to sell: cashiers are 01 to 98`);
    const rc = await this.verifyOperator(operatorNo, password);
    if (rc === '00') this.operatorNo = operatorNo;
    return rc;
  }

  /** Operator password change (903). */
  async changeOperatorPassword(operatorNo: string, oldPassword: string, newPassword: string): Promise<string> {
    await this.honourRequests();
    const m = new IsoMessage('0820').set(11, this.takeStan()).set(41, this.options.tid).set(42, this.options.mid).set(52, this.passwordBlock(oldPassword)).set(53, '2600000000000000').set(60, `00${String(this.state.batch).padStart(6, '0')}903`).set(62, this.passwordBlock(newPassword)).set(63, `${operatorNo} `);
    const r = await this.exchange(m, true);
    return r ? String(r.frame.message.get(39)) : '';
  }

  private passwordBlock(password: string): Buffer {
    if (!this.state.pik) throw new TerminalError('not_signed_in', 'sign in first');
    return tdesEcb(Buffer.from(this.state.pik, 'hex')).encrypt(mistypedAsInvalidInput(() => encodeClearPinBlock(0, password, `0000${this.options.tid}`)));
  }

  // ---- financial ----

  async balance(card: CardPresentation, pin?: string): Promise<SaleResult> {
    await this.beforeFinancial();
    const m = this.financial('0200', '310000', '01', undefined);
    this.cardFields(m, card, pin);
    const r = await this.exchange(m, true);
    const res = this.result(m, r);
    const ok = res.approved && r !== undefined && this.macValid(r.raw, r.frame);
    const f54 = r?.frame.message.get(54);
    const balanceFen = ok && typeof f54 === 'string' ? (f54[7] === 'D' ? -1 : 1) * Number(f54.slice(8, 20)) : undefined;
    return { ...res, approved: ok, amountFen: 0, panMasked: maskPan(card.pan), passwordFree: false, noSignature: false, ...(balanceFen !== undefined ? { balanceFen } : {}), ...issuerAuthentication(card, res) };
  }

  async sale(card: CardPresentation, amountFen: number, pin?: string): Promise<SaleResult> {
    return this.purchaseLike('sale', card, amountFen, pin);
  }

  async preauth(card: CardPresentation, amountFen: number, pin?: string): Promise<SaleResult> {
    return this.purchaseLike('preauth', card, amountFen, pin);
  }

  /** The sale request this terminal would send, built but not sent: for load tests against a reflector. */
  saleRequest(card: CardPresentation, amountFen: number, pin?: string): IsoMessage {
    const m = this.financial('0200', '000000', '22', amountFen);
    this.cardFields(m, card, pin);
    return m;
  }

  /**
   * Load generation (`posgate bench`): the same PIN sale over and over, at little cost to the
   * machine the host shares. The request is built and packed once — card fields, PIN block and
   * enciphered track are the same every time — and each sale writes the next STAN into the packed
   * frame and MACs it again. The answer is checked as for any sale (MTI, terminal, STAN, MAC); no
   * reversal is kept and no batch log, so an unanswered or unverifiable sale is only reported
   * (`no_response`, `mac_failure`) for the load generator to count. Resolves with the response code.
   * `echoed`: the far end is a reflector (the benchmark's null host), which sends each request back
   * as its own response: any frame that matches counts as approved, its MAC unchecked.
   */
  repeatedSale(card: CardPresentation, amountFen: number, pin?: string, options: { echoed?: boolean } = {}): () => Promise<string> {
    const m = this.saleRequest(card, amountFen, pin);
    const template = this.pack(m, true);
    // Field 11 (n6, 3 BCD bytes): pack with another STAN and see which bytes change before the MAC.
    const other = this.pack(m.clone().set(11, String(m.get(11)) === '999999' ? '000001' : '999999'), true);
    let at = 0;
    while (at < template.length - 8 && template[at] === other[at]) at++;
    for (let i = at + 3; i < template.length - 8; i++) if (template[i] !== other[i]) throw new Error('field 11 is not where a repeated sale can rewrite it');
    const tid = this.options.tid;
    return async () => {
      const stan = this.takeStan();
      const frame = Buffer.from(template);
      frame.write(stan, at, 'hex');
      cupEcbMacWith(this.macCipher(), frame, 13, frame.length - 8).copy(frame, frame.length - 8);
      let raw: Buffer;
      try {
        const connection = await this.connection_();
        connection.send(frame);
        raw = await connection.receive(this.options.responseTimeoutMs);
      } catch {
        this.close();
        return 'no_response';
      }
      let response: CupFrame;
      try {
        response = unpackCupFrame(cup, raw, true);
      } catch {
        return 'mac_failure';
      }
      const r = response.message;
      if (r.mti !== '0210' || r.get(11) !== stan || r.get(41) !== tid) return 'no_response';
      if (options.echoed) return '00';
      return this.macValid(raw, response) ? String(r.get(39)) : 'mac_failure';
    };
  }

  private async purchaseLike(kind: 'sale' | 'preauth', card: CardPresentation, amountFen: number, pin?: string): Promise<SaleResult> {
    if (!Number.isSafeInteger(amountFen) || amountFen <= 0) throw new TerminalError('invalid_input', 'the amount is a positive whole number of fen');
    await this.beforeFinancial();
    const m = kind === 'sale' ? this.financial('0200', '000000', '22', amountFen) : this.financial('0100', '030000', '10', amountFen, '06');
    this.cardFields(m, card, pin);
    const res = await this.reversible(m, card);
    const passwordFree = pin === undefined && res.approved;
    const limit = Number(this.state.qps?.FF8059 ?? '100000');
    const noSignature = passwordFree && (this.state.qps?.FF805A ?? '1') === '1' && amountFen <= limit;
    const journal = res.approved ? this.log({ type: kind === 'sale' ? '22' : '10', amountFen, pan: card.pan, entry: card.entry, res, passwordFree, noSignature }) : undefined;
    return { ...res, ...(journal ? { journal } : {}), amountFen, panMasked: maskPan(card.pan), passwordFree, noSignature };
  }

  /** Writes an approved transaction to the batch log (unless the terminal keeps none) and returns its line. */
  private log(e: { type: string; amountFen: number; pan: string; entry: EntryMode; res: Result; passwordFree?: boolean; noSignature?: boolean }): BatchEntry | undefined {
    if (!this.options.keepBatchLog) return undefined;
    const line: BatchEntry = {
      stan: e.res.stan,
      type: e.type,
      amountFen: e.amountFen,
      panMasked: maskPan(e.pan),
      pan: SETTLED_TYPES.has(e.type) ? e.pan : '',
      rrn: e.res.rrn ?? '',
      authCode: e.res.authCode ?? '',
      date: e.res.date ?? '',
      cardOrg: e.res.cardOrg ?? 'CUP',
      ...(e.res.time ? { time: e.res.time } : {}),
      entry: e.entry,
      operator: this.operatorNo,
      passwordFree: e.passwordFree ?? false,
      noSignature: e.noSignature ?? false,
      status: 'approved',
    };
    this.state.batchLog.push(line);
    this.save();
    return line;
  }

  /** The approved transaction of `type` with this STAN in the open batch, which a void acts on. */
  private entry(stan: string, type: '22' | '20'): BatchEntry {
    const entry = this.state.batchLog.find((e) => e.stan === stan);
    if (!entry) throw new TerminalError('unknown_transaction', `no transaction with STAN ${stan} in this batch`);
    if (entry.type !== type) throw new TerminalError('unknown_transaction', `STAN ${stan} is not a ${type === '22' ? 'sale' : 'completion'} in this batch`);
    return entry;
  }

  private keyed(entry: BatchEntry): CardPresentation {
    return { entry: 'keyed', pan: entry.pan, expiry: '' };
  }

  /** Sale void (消费撤销): same batch, before settlement; needs the supervisor on `host`-checking terminals. */
  async voidSale(originalStan: string, pin?: string): Promise<SaleResult> {
    await this.beforeFinancial();
    const original = this.entry(originalStan, '22');
    const m = this.financial('0200', '200000', '23', original.amountFen);
    const card = this.keyed(original);
    m.set(22, `01${pin !== undefined ? '1' : '2'}`).set(2, original.pan).set(37, original.rrn.padEnd(12, ' ')).set(61, `${String(this.state.batch).padStart(6, '0')}${original.stan}`);
    if (original.authCode) m.set(38, original.authCode.padEnd(6, ' '));
    if (pin !== undefined) this.cardFields(m, card, pin);
    return this.voided(original, '23', await this.reversible(m));
  }

  /** An approved void marks its original voided and goes into the batch log itself. */
  private voided(original: BatchEntry, type: '23' | '21', res: Result): SaleResult {
    let journal: BatchEntry | undefined;
    if (res.approved) {
      original.status = 'voided';
      journal = this.log({ type, amountFen: original.amountFen, pan: original.pan, entry: 'keyed', res });
      if (!journal) this.save(); // log() saved both
    }
    return { ...res, ...(journal ? { journal } : {}), amountFen: original.amountFen, panMasked: original.panMasked, passwordFree: false, noSignature: false };
  }

  /** Refund (退货) of a sale of this merchant by its RRN and date; retransmitted unchanged when unanswered (§8.1). */
  async refund(card: CardPresentation, original: { rrn: string; date: string; batch?: number; stan?: string }, amountFen: number): Promise<SaleResult> {
    await this.beforeFinancial();
    const m = this.financial('0220', '200000', '25', amountFen);
    this.cardFields(m, card, undefined);
    m.set(37, original.rrn.padEnd(12, ' ')).set(61, `${String(original.batch ?? 0).padStart(6, '0')}${original.stan ?? '000000'}${original.date}`).set(63, 'CUP');
    let r;
    for (let attempt = 0; attempt < this.options.reversalAttempts && !r; attempt++) r = await this.exchange(m.clone(), true);
    const res = this.result(m, r, r ? undefined : 'result_unknown');
    const approved = res.approved && r !== undefined && this.macValid(r.raw, r.frame);
    const journal = approved ? this.log({ type: '25', amountFen, pan: card.pan, entry: card.entry, res }) : undefined;
    return { ...res, approved, ...(journal ? { journal } : {}), amountFen, panMasked: maskPan(card.pan), passwordFree: false, noSignature: false };
  }

  /** Pre-authorisation completion (预授权完成): up to 115 % of the hold, by its authorisation code and date. */
  async completion(card: CardPresentation, preauth: { authCode: string; date: string }, amountFen: number, pin?: string): Promise<SaleResult> {
    await this.beforeFinancial();
    const m = this.financial('0200', '000000', '20', amountFen, '06');
    this.cardFields(m, { ...card, entry: card.entry }, pin);
    m.set(38, preauth.authCode.padEnd(6, ' ')).set(61, `000000000000${preauth.date}`);
    const res = await this.reversible(m, card);
    const journal = res.approved ? this.log({ type: '20', amountFen, pan: card.pan, entry: card.entry, res }) : undefined;
    return { ...res, ...(journal ? { journal } : {}), amountFen, panMasked: maskPan(card.pan), passwordFree: false, noSignature: false };
  }

  /** Pre-authorisation void (预授权撤销): releases the hold; the amount is the pre-authorised one. */
  async preauthVoid(card: CardPresentation, preauth: { authCode: string; date: string; amountFen: number }, pin?: string): Promise<SaleResult> {
    await this.beforeFinancial();
    const m = this.financial('0100', '200000', '11', preauth.amountFen, '06');
    this.cardFields(m, card, pin);
    m.set(38, preauth.authCode.padEnd(6, ' ')).set(61, `000000000000${preauth.date}`);
    const res = await this.reversible(m);
    const journal = res.approved ? this.log({ type: '11', amountFen: preauth.amountFen, pan: card.pan, entry: card.entry, res }) : undefined;
    return { ...res, ...(journal ? { journal } : {}), amountFen: preauth.amountFen, panMasked: maskPan(card.pan), passwordFree: false, noSignature: false };
  }

  /** Completion void (预授权完成撤销) of a completion in this batch, by its trace number. */
  async completionVoid(completionStan: string, pin?: string): Promise<SaleResult> {
    await this.beforeFinancial();
    const original = this.entry(completionStan, '20');
    const m = this.financial('0200', '200000', '21', original.amountFen, '06');
    m.set(22, `01${pin !== undefined ? '1' : '2'}`).set(2, original.pan).set(37, original.rrn.padEnd(12, ' ')).set(61, `${String(this.state.batch).padStart(6, '0')}${original.stan}${original.date}`);
    if (original.authCode) m.set(38, original.authCode.padEnd(6, ' '));
    if (pin !== undefined) this.cardFields(m, this.keyed(original), pin);
    return this.voided(original, '21', await this.reversible(m));
  }

  // ---- settlement ----

  /** Settlement (批结算), then batch upload when the host's totals differ; the terminal then moves to the next batch. */
  async settle(operatorNo = this.operatorNo): Promise<Settlement> {
    if (!(await this.flushReversal())) throw new TerminalError('reversal_pending', 'a reversal is still pending: the host did not answer it');
    const live = this.state.batchLog.filter((e) => e.status === 'approved' && SETTLED_TYPES.has(e.type));
    const block = (org: (e: BatchEntry) => boolean) => {
      const debit = live.filter((e) => org(e) && e.type !== '25');
      const credit = live.filter((e) => org(e) && e.type === '25');
      const sum = (l: BatchEntry[]) => l.reduce((a, e) => a + e.amountFen, 0);
      return `${String(sum(debit)).padStart(12, '0')}${String(debit.length).padStart(3, '0')}${String(sum(credit)).padStart(12, '0')}${String(credit.length).padStart(3, '0')}0`;
    };
    const totals = block((e) => e.cardOrg === 'CUP') + block((e) => e.cardOrg !== 'CUP');
    const batch = this.state.batch;
    const m = new IsoMessage('0500').set(11, this.takeStan()).set(41, this.options.tid).set(42, this.options.mid).set(48, totals).set(49, '156').set(60, `00${String(batch).padStart(6, '0')}201`).set(63, `${operatorNo} `);
    const r = await this.exchange(m, false);
    if (!r) return { rc: '', balanced: false, batch, totals, uploaded: 0 };
    const rc = String(r.frame.message.get(39));
    if (rc !== '00') return { rc, balanced: false, batch, totals, uploaded: 0 };
    const result = String(r.frame.message.get(48));
    const balanced = result[30] === '1' && result[61] === '1';
    let uploaded = 0;
    if (!balanced) uploaded = await this.uploadBatch(batch, live);
    const date = r.frame.message.get(13);
    const time = r.frame.message.get(12);
    const settled: Settlement = { rc, balanced, batch, totals: result, uploaded, ...(typeof date === 'string' ? { date } : {}), ...(typeof time === 'string' ? { time } : {}) };
    this.state.batch = batch >= 999_999 ? 1 : batch + 1;
    this.state.batchLog = [];
    this.state.lastSettlement = settled;
    this.save();
    return settled;
  }

  private async uploadBatch(batch: number, entries: BatchEntry[]): Promise<number> {
    for (let i = 0; i < entries.length; i += 8) {
      const chunk = entries.slice(i, i + 8);
      const items = chunk.map((e) => `${e.cardOrg === 'CUP' ? '00' : '01'}${e.stan}${e.pan.padStart(20, '0')}${String(e.amountFen).padStart(12, '0')}`).join('');
      const m = new IsoMessage('0320').set(11, this.takeStan()).set(41, this.options.tid).set(42, this.options.mid).set(48, `${String(chunk.length).padStart(2, '0')}${items}`).set(60, `00${String(batch).padStart(6, '0')}201`);
      await this.exchange(m, false);
    }
    const end = new IsoMessage('0320').set(11, this.takeStan()).set(41, this.options.tid).set(42, this.options.mid).set(48, String(entries.length).padStart(4, '0')).set(60, `00${String(batch).padStart(6, '0')}202`);
    await this.exchange(end, false);
    return entries.length;
  }

  /** For tests and tools: send a hand-built request as-is (MACed when asked) and return the raw answer. */
  async raw(message: IsoMessage, macBearing: boolean): Promise<{ message: IsoMessage; macValid: boolean } | undefined> {
    const r = await this.exchange(message, macBearing);
    return r ? { message: r.frame.message, macValid: this.macValid(r.raw, r.frame) } : undefined;
  }

  /** Field values for building custom requests in tests. */
  nextStan(): string {
    return this.takeStan();
  }
}

export type { FieldValue };
