/** A field value: digits (`n`), track nibbles (`z`), text (`an`, `ans`) or bytes (`b`). */
export type FieldValue = string | Buffer;

export const FIELD_MAX = 128;

/** An ISO 8583 message: an MTI and fields 2–128, kept in a small array indexed by field number. */
export class IsoMessage {
  private readonly values: (FieldValue | undefined)[] = [];

  constructor(
    public mti: string,
    fields?: Readonly<Record<number, FieldValue>>,
  ) {
    if (fields) for (const [key, value] of Object.entries(fields)) this.set(Number(key), value);
  }

  get(field: number): FieldValue | undefined {
    return this.values[field];
  }

  /** The value of a text or numeric field; throws if the field holds bytes. */
  text(field: number): string | undefined {
    const v = this.values[field];
    if (v === undefined || typeof v === 'string') return v;
    throw new TypeError(`field ${field} holds bytes, not text`);
  }

  bytes(field: number): Buffer | undefined {
    const v = this.values[field];
    if (v === undefined || Buffer.isBuffer(v)) return v;
    throw new TypeError(`field ${field} holds text, not bytes`);
  }

  has(field: number): boolean {
    return this.values[field] !== undefined;
  }

  set(field: number, value: FieldValue): this {
    if (!Number.isInteger(field) || field < 2 || field > FIELD_MAX) throw new RangeError(`no field ${field} in ISO 8583`);
    this.values[field] = value;
    return this;
  }

  /** For the engine, which has already checked the field number against its dialect. */
  setDecoded(field: number, value: FieldValue): void {
    this.values[field] = value;
  }

  delete(field: number): this {
    this.values[field] = undefined;
    return this;
  }

  /** Present field numbers, ascending. */
  fieldNumbers(): number[] {
    const out: number[] = [];
    for (let i = 2; i <= FIELD_MAX; i++) if (this.values[i] !== undefined) out.push(i);
    return out;
  }

  clone(): IsoMessage {
    const copy = new IsoMessage(this.mti);
    for (const n of this.fieldNumbers()) copy.set(n, this.values[n]!);
    return copy;
  }
}
