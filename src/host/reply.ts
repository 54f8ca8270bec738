import type { FieldValue } from '../iso8583/index.js';
import { fieldValueText } from '../iso8583/index.js';
import type { Request } from './request.js';

/** What a step answers: the response fields (39 among them) and whether the response is MACed. */
export interface Reply {
  readonly fields: Record<number, FieldValue>;
  readonly mac: boolean;
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
