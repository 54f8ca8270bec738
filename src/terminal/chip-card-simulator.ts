import { randomBytes } from 'node:crypto';
import { applicationCryptogram, applicationCryptogramSessionKey, arpcMethod1, arqcData, deriveIccMasterKey, timingSafeEqual } from '../crypto/index.js';
import { decodeTlv, encodeTlv, type Tlv } from '../iso8583/index.js';

/** What the terminal hands the card in GENERATE AC (its CDOL1 data). */
export interface TerminalTransactionData {
  readonly amountFen: number;
  /** 9C: 00 goods and services, 03 pre-authorisation (as posgate terminals send it), 31 balance inquiry */
  readonly type: string;
  readonly date?: Date;
}

/**
 * A SIMULATED EMV chip card, for the software terminal to read in demos and tests: it holds the
 * key it was personalised with (derived from an issuer master key, EMV Option A), its PAN sequence
 * number and its application transaction counter, and answers GENERATE AC with an ARQC over the
 * transaction (crypto/emv.ts) — what a contact or contactless card does inside the reader. It then
 * checks the issuer's ARPC (tag 91) as the card would in its second GENERATE AC. A real terminal
 * reads a real chip; nothing here is used with real cards.
 */
export class ChipCardSimulator {
  private atc: number;
  private lastCryptogram: { sessionKey: Buffer; arqc: Buffer } | undefined;

  constructor(
    readonly pan: string,
    private readonly iccMasterKey: Buffer,
    /** PAN sequence number, 2 digits */
    readonly psn = '01',
    /** the counter before the first transaction */
    atc = 0,
  ) {
    this.atc = atc;
  }

  /** A card personalised from an issuer master key (the demo's is public, see demo/seed.ts). */
  static personalised(issuerMasterKey: Buffer, pan: string, psn = '01', atc = 0): ChipCardSimulator {
    return new ChipCardSimulator(pan, deriveIccMasterKey(issuerMasterKey, pan, psn), psn, atc);
  }

  /** The application transaction counter of the last GENERATE AC (0 before the first). */
  get transactionCounter(): number {
    return this.atc;
  }

  /** Field 23 of the request: the PAN sequence number in 3 digits. */
  get cardSequence(): string {
    return `0${this.psn}`;
  }

  /** GENERATE AC asking to go online: field 55 with the ARQC and every data object §5.2 C7 requires. */
  generateArqc(terminal: TerminalTransactionData): Buffer {
    if (!Number.isSafeInteger(terminal.amountFen) || terminal.amountFen < 0) throw new RangeError('the amount is a whole number of fen, not negative');
    this.atc = (this.atc + 1) & 0xffff;
    const date = terminal.date ?? new Date();
    const yymmdd = `${String(date.getFullYear() % 100).padStart(2, '0')}${String(date.getMonth() + 1).padStart(2, '0')}${String(date.getDate()).padStart(2, '0')}`;
    const objects: Record<string, Buffer> = {
      '9F02': Buffer.from(String(terminal.amountFen).padStart(12, '0'), 'hex'),
      '9F03': Buffer.alloc(6),
      '9F1A': Buffer.from('0156', 'hex'),
      '95': Buffer.alloc(5),
      '5F2A': Buffer.from('0156', 'hex'),
      '9A': Buffer.from(yymmdd, 'hex'),
      '9C': Buffer.from(terminal.type, 'hex'),
      '9F37': randomBytes(4),
      '82': Buffer.from('7C00', 'hex'),
      '9F36': Buffer.from([this.atc >> 8, this.atc & 0xff]),
      // issuer application data: length 07, key index 01, cryptogram version 01, CVR 03 A0 A8 02
      '9F10': Buffer.from('07010103A0A802', 'hex'),
      '9F27': Buffer.from([0x80]),
      '9F33': Buffer.from('E0F1C8', 'hex'),
      '9F34': Buffer.from('3F0000', 'hex'),
      '9F35': Buffer.from('22', 'hex'),
    };
    const data = arqcData((tag) => objects[tag])!;
    const sessionKey = applicationCryptogramSessionKey(this.iccMasterKey, objects['9F36']!);
    const arqc = applicationCryptogram(sessionKey, data);
    this.lastCryptogram = { sessionKey, arqc };
    const tlv: Tlv[] = [{ tag: '9F26', value: arqc }, ...Object.entries(objects).map(([tag, value]) => ({ tag, value }))];
    return encodeTlv(tlv);
  }

  /**
   * The issuer's answer in response field 55: true when its tag 91 (ARPC ‖ ARC) proves the issuer
   * saw this card's last ARQC, false when it does not, undefined when the response carried none.
   */
  checkIssuerAuthentication(responseField55: Buffer | undefined): boolean | undefined {
    if (!responseField55 || !this.lastCryptogram) return undefined;
    let data: Buffer | undefined;
    try {
      data = decodeTlv(responseField55).find((t) => t.tag === '91')?.value;
    } catch {
      return false;
    }
    if (!data) return undefined;
    if (data.length !== 10) return false;
    const arc = data.subarray(8);
    const expected = arpcMethod1(this.lastCryptogram.sessionKey, this.lastCryptogram.arqc, arc);
    return timingSafeEqual(expected, data.subarray(0, 8));
  }
}
