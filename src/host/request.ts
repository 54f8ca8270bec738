import { inspect } from 'node:util';
import { decodeTlv, MTI_OFFSET_FRAMED, type CupFrame, type FieldValue, type IsoMessage } from '../iso8583/index.js';

/**
 * A decoded request with typed access to the fields the pipeline reads. It holds the frame as
 * received — PAN, track, PIN block — so it prints (log line, JSON, util.inspect) as what identifies
 * it and the numbers of its fields, never their values.
 */
export class Request {
  private icc: ReadonlyMap<string, Buffer> | undefined;

  toJSON(): { mti: string; stan?: string; tid?: string; fields: number[] } {
    const { stan, tid } = this;
    return { mti: this.mti, ...(stan !== undefined ? { stan } : {}), ...(tid !== undefined ? { tid } : {}), fields: this.message.fieldNumbers() };
  }

  [inspect.custom](): string {
    return `Request(${this.mti} STAN ${this.stan ?? '-'} TID ${this.tid ?? '-'})`;
  }

  constructor(
    readonly frame: CupFrame,
    /** the frame as received, from LEN on */
    readonly raw: Buffer,
    readonly receivedAt: number,
  ) {}

  get message(): IsoMessage {
    return this.frame.message;
  }
  get mti(): string {
    return this.frame.message.mti;
  }
  text(field: number): string | undefined {
    const v = this.frame.message.get(field);
    return typeof v === 'string' ? v : undefined;
  }
  bytes(field: number): Buffer | undefined {
    const v = this.frame.message.get(field);
    return Buffer.isBuffer(v) ? v : undefined;
  }
  has(field: number): boolean {
    return this.frame.message.has(field);
  }
  get stan(): string | undefined {
    return this.text(11);
  }
  get tid(): string | undefined {
    return this.text(41);
  }
  get mid(): string | undefined {
    return this.text(42)?.trimEnd();
  }
  get processingCode(): string | undefined {
    return this.text(3);
  }
  get amountFen(): number {
    const a = this.text(4);
    return a === undefined ? 0 : Number(a);
  }
  /** 60.1 */
  get type(): string | undefined {
    const f = this.text(60);
    return f !== undefined && f.length >= 2 ? f.slice(0, 2) : undefined;
  }
  /** 60.2 */
  get batch(): number | undefined {
    const f = this.text(60);
    return f !== undefined && f.length >= 8 ? Number(f.slice(2, 8)) : undefined;
  }
  /** 60.3 */
  get networkCode(): string | undefined {
    const f = this.text(60);
    return f !== undefined && f.length >= 11 ? f.slice(8, 11) : undefined;
  }
  /** 22 digits 1–2 */
  get entryMode(): string | undefined {
    return this.text(22)?.slice(0, 2);
  }
  get pinPresent(): boolean {
    return this.has(52);
  }
  /** 61.1, 61.2, 61.3 */
  get original(): { batch?: number; stan?: string; mmdd?: string } {
    const f = this.text(61) ?? '';
    return {
      ...(f.length >= 6 ? { batch: Number(f.slice(0, 6)) } : {}),
      ...(f.length >= 12 ? { stan: f.slice(6, 12) } : {}),
      ...(f.length >= 16 ? { mmdd: f.slice(12, 16) } : {}),
    };
  }
  /** 63.1 operator code, normalised to 2 digits: `01 `, `001` and `01` all mean 01 */
  get operatorNo(): string | undefined {
    const f = this.text(63);
    if (f === undefined) return undefined;
    const head = f.slice(0, 3).trim();
    if (/^0[0-9]{2}$/.test(head)) return head.slice(1);
    if (/^[0-9]{2}$/.test(head)) return head;
    return undefined;
  }
  /** MAC input: MTI through the field before 64, exactly as received (§6.3) */
  mab(): Buffer {
    return this.raw.subarray(MTI_OFFSET_FRAMED, this.raw.length - 8);
  }
  /**
   * Field 55's data objects by tag (decoded once, however many steps look at them); undefined
   * without field 55. Throws Iso8583Error when it is not BER-TLV (step 7 answers 30 then).
   */
  iccObjects(): ReadonlyMap<string, Buffer> | undefined {
    if (this.icc) return this.icc;
    const data = this.bytes(55);
    if (data === undefined) return undefined;
    const objects = new Map<string, Buffer>();
    for (const t of decodeTlv(data)) if (!objects.has(t.tag)) objects.set(t.tag, t.value); // the first of a repeated tag
    this.icc = objects;
    return objects;
  }
  get receivedMac(): Buffer | undefined {
    return this.bytes(64);
  }
  field(n: number): FieldValue | undefined {
    return this.frame.message.get(n);
  }
}

export function responseMti(mti: string): string {
  return mti.slice(0, 2) + String(Number(mti.slice(2)) + 10).padStart(2, '0');
}
