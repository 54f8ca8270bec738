import { Iso8583Error } from '../iso8583/index.js';
import type { MessageKind } from './catalogue.js';
import type { Request } from './request.js';

/**
 * §7 step 7 (format) and the option checks of step 4, as data: which fields each financial kind
 * must and must not carry. Returns the response code to answer (30 or 40), or null when fine.
 */
const MANDATORY: Partial<Record<MessageKind, readonly number[]>> = {
  balance: [3, 11, 22, 25, 41, 42, 49, 60, 64],
  sale: [3, 4, 11, 22, 25, 41, 42, 49, 60, 64],
  sale_void: [3, 4, 11, 22, 25, 37, 41, 42, 49, 60, 61, 64],
  refund: [3, 4, 11, 22, 25, 37, 41, 42, 49, 60, 61, 64],
  preauth: [3, 4, 11, 22, 25, 41, 42, 49, 60, 64],
  preauth_void: [3, 4, 11, 22, 25, 38, 41, 42, 49, 60, 61, 64],
  completion: [3, 4, 11, 22, 25, 38, 41, 42, 49, 60, 61, 64],
  completion_void: [3, 4, 11, 22, 25, 37, 41, 42, 49, 60, 61, 64],
  reversal: [3, 4, 11, 22, 25, 39, 41, 42, 49, 60, 64],
};

const FORBIDDEN: Partial<Record<MessageKind, readonly number[]>> = {
  balance: [4, 37, 38, 39, 61],
  sale: [37, 39, 61],
  preauth: [37, 39, 61],
  sale_void: [39],
  refund: [39],
  preauth_void: [39],
  completion: [39],
  completion_void: [39],
  reversal: [26, 35, 36, 52, 53],
};

const ENTRY_MODES = new Set(['01', '02', '03', '05', '07', '80', '91', '96', '98']);
/** 22 digits 1–2 of chip reads: contact chip, contactless chip, contactless via a consumer device. */
export const CHIP_MODES: ReadonlySet<string> = new Set(['05', '07', '98']);
const CHIP_TAGS = ['9F26', '9F27', '9F10', '9F37', '9F36', '95', '9A', '9C', '9F02', '5F2A', '82', '9F1A', '9F33', '9F34', '9F35'];

/** Step 4 options: 22, 25, 49 and 53 values the host does not support → 40. */
export function unsupportedOption(req: Request, kind: MessageKind, hasTdk: boolean): boolean {
  const mode = req.entryMode;
  if (mode !== undefined && !ENTRY_MODES.has(mode)) return true;
  const condition = req.text(25);
  if (condition !== undefined) {
    const preauthFamily = kind === 'preauth' || kind === 'preauth_void' || kind === 'completion' || kind === 'completion_void';
    if (condition !== (preauthFamily ? '06' : '00') && kind !== 'reversal') return true;
    if (kind === 'reversal' && condition !== '00' && condition !== '06') return true;
  }
  const currency = req.text(49);
  if (currency !== undefined && currency !== '156') return true;
  const security = req.text(53);
  if (security !== undefined) {
    if (security[0] !== '0' && security[0] !== '2') return true;
    if (security[1] !== '6') return true;
    if (security[2] !== '0' && security[2] !== '1') return true;
    if (security[2] === '1' && !hasTdk) return true;
  }
  return false;
}

function validMmdd(mmdd: string): boolean {
  const m = Number(mmdd.slice(0, 2));
  const d = Number(mmdd.slice(2, 4));
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

function validYymm(yymm: string): boolean {
  const m = Number(yymm.slice(2, 4));
  return m >= 1 && m <= 12;
}

/** Step 7 for financial requests and reversals. */
export function formatError(req: Request, kind: MessageKind): boolean {
  for (const n of MANDATORY[kind] ?? []) if (!req.has(n)) return true;
  for (const n of FORBIDDEN[kind] ?? []) if (req.has(n)) return true;
  if (req.networkCode !== '000') return true;
  const expiry = req.text(14);
  if (expiry !== undefined && !validYymm(expiry)) return true;
  const mmdd = req.original.mmdd;
  if (mmdd !== undefined && !validMmdd(mmdd)) return true;
  if (kind === 'reversal') return false;
  if (!req.has(2) && !req.has(35)) return true;
  const pinDigit = req.text(22)?.[2];
  const pinEntered = pinDigit === '1';
  if (pinEntered !== req.pinPresent) return true;
  if (req.has(26) !== req.pinPresent) return true;
  const capture = req.text(26);
  if (capture !== undefined && (Number(capture) < 4 || Number(capture) > 12)) return true;
  const security = req.text(53);
  if (req.pinPresent && security === undefined) return true;
  if (security !== undefined && (security[0] === '2') !== req.pinPresent) return true;
  if (req.has(55)) {
    try {
      const tags = req.iccObjects()!;
      if ((kind === 'sale' || kind === 'preauth' || kind === 'balance') && CHIP_MODES.has(req.entryMode ?? '') && CHIP_TAGS.some((t) => !tags.has(t))) return true;
    } catch (err) {
      if (err instanceof Iso8583Error) return true;
      throw err;
    }
  } else if ((kind === 'sale' || kind === 'preauth' || kind === 'balance') && CHIP_MODES.has(req.entryMode ?? '')) return true;
  return false;
}

/** The consumer device verified the cardholder (CDCVM): 9F6C byte 2 bit 8 set, byte 1 bit 8 clear. */
export function cdcvmPerformed(req: Request): boolean {
  try {
    const ctq = req.iccObjects()?.get('9F6C');
    return ctq !== undefined && ctq.length >= 2 && (ctq[1]! & 0x80) !== 0 && (ctq[0]! & 0x80) === 0;
  } catch {
    return false;
  }
}
