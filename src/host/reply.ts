import { cup, fieldValueText, IsoMessage, type FieldValue } from '../iso8583/index.js';
import { responseMti, type Request } from './request.js';

/** What a step answers: the response fields (39 among them) and whether the response is MACed. */
export interface Reply {
  readonly fields: Record<number, FieldValue>;
  readonly mac: boolean;
  /**
   * The response message already packed (MTI through field 64, whose 8 bytes the MAC overwrites):
   * financial responses are packed once, stored as these bytes and sent from them — the first time
   * and for every retransmission, which therefore carries the fields exactly as first sent.
   */
  readonly body?: Buffer;
}

/** Packs a MACed response message for storing and sending (field 64 left as zeros for the MAC). */
export function packResponseBody(requestMti: string, fields: Record<number, FieldValue>): Buffer {
  return cup.pack(new IsoMessage(responseMti(requestMti), { ...fields, 64: Buffer.alloc(8) }));
}

/**
 * The stored form of a financial response: the packed body in base64 (older rows hold JSON fields),
 * never with field 2. A PAN at rest is only its ciphertext, keyed hash and masked form, so a
 * response that echoes the PAN is stored packed without it, and a retransmission gets it back from
 * its own field 2 (`replayStored`). Responses to swiped cards carry no 2 and are stored as sent.
 */
export function storedResponse(requestMti: string, fields: Record<number, FieldValue>, body: Buffer): string {
  if (fields[2] === undefined) return body.toString('base64');
  const { 2: _pan, ...withoutPan } = fields;
  return packResponseBody(requestMti, withoutPan).toString('base64');
}

/** The stored response, for a retransmission of `req`: as first sent, the PAN echoed from `req`'s own field 2. */
export function replayStored(stored: string, responseCode: string, req: Request): Reply {
  const pan = req.field(2);
  if (stored.startsWith('{')) {
    const fields = loadFields(stored);
    if (pan !== undefined) fields[2] = pan;
    return { fields, mac: true };
  }
  const body = Buffer.from(stored, 'base64');
  if (pan === undefined) return { fields: { 39: responseCode }, mac: true, body };
  const message = cup.unpack(body);
  const fields: Record<number, FieldValue> = { 2: pan };
  for (const n of message.fieldNumbers()) if (n !== 64) fields[n] = message.get(n)!;
  return { fields, mac: true };
}

export function responseCode(reply: Reply): string {
  return String(reply.fields[39]);
}

function echo(req: Request, fields: readonly number[]): Record<number, FieldValue> {
  const out: Record<number, FieldValue> = {};
  for (const n of fields) {
    const v = req.field(n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}

/** §5.3: fields a financial response echoes when the request carried them. */
export const FINANCIAL_ECHO = [2, 3, 4, 11, 14, 25, 41, 42, 49, 60, 61] as const;
/** §5.4: fields every management and settlement response echoes. */
export const MANAGEMENT_ECHO = [11, 41, 42, 60] as const;

export function echoFields(req: Request, financial: boolean): Record<number, FieldValue> {
  return echo(req, financial ? FINANCIAL_ECHO : MANAGEMENT_ECHO);
}

/** Stored form of response fields (for retransmissions): field number → text or hex. */
export function storeFields(fields: Record<number, FieldValue>): string {
  const out: Record<string, { t: string; v: string }> = {};
  for (const [k, v] of Object.entries(fields)) if (Number(k) !== 64) out[k] = { t: typeof v === 'string' ? 's' : 'b', v: fieldValueText(v) };
  return JSON.stringify(out);
}

export function loadFields(stored: string): Record<number, FieldValue> {
  const parsed = JSON.parse(stored) as Record<string, { t: string; v: string }>;
  const out: Record<number, FieldValue> = {};
  for (const [k, { t, v }] of Object.entries(parsed)) out[Number(k)] = t === 's' ? v : Buffer.from(v, 'hex');
  return out;
}
