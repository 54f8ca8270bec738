import { inspect } from 'node:util';
import { maskPan } from '../crypto/index.js';
import type { Hsm, KeyBlock } from '../hsm/index.js';
import type { TrackData } from '../issuer/index.js';
import type { Request } from './request.js';

/**
 * Card data from field 2/14 or from (deciphered) track 2, clear only in memory. It prints — in a
 * log line, JSON or util.inspect — as its masked PAN alone: a step that logs it by mistake leaks
 * nothing.
 */
export class CardInput {
  constructor(
    readonly pan: string,
    readonly expiry: string | undefined,
    readonly serviceCode: string | undefined,
    /** track 2 after the PAN, when the request carried one (field 35) */
    readonly track: TrackData | undefined,
  ) {}

  toJSON(): { pan: string } {
    return { pan: maskPan(this.pan) };
  }

  [inspect.custom](): string {
    return `CardInput(${maskPan(this.pan)})`;
  }
}

/**
 * Card data of a financial request (§5.2 C1, §6.6): the PAN from field 2 or from track 2 before
 * the separator, the expiry from field 14 or the track. An enciphered track (53 digit 3 = 1) is
 * deciphered first: the 8 bytes ending one byte before the last byte of its packed value.
 * Returns null when the data is malformed (→ 30).
 */
export async function readCardInput(hsm: Hsm, req: Request, tdk: KeyBlock | null): Promise<CardInput | null> {
  let track: { pan: string; expiry: string; serviceCode: string; discretionary: string } | undefined;
  const raw = req.text(35);
  if (raw !== undefined) {
    let nibbles = raw;
    if (req.text(53)?.[2] === '1') {
      if (tdk === null) return null;
      const packed = Buffer.from(nibbles.length % 2 ? `${nibbles}0` : nibbles, 'hex');
      if (packed.length < 9) return null;
      const clear = await hsm.decryptData(tdk, packed.subarray(packed.length - 9, packed.length - 1));
      clear.copy(packed, packed.length - 9);
      nibbles = packed.toString('hex').toUpperCase().slice(0, raw.length);
    }
    const m = /^([0-9]{12,19})D([0-9]{4})([0-9]{3})([0-9]*)$/.exec(nibbles);
    if (!m) return null;
    track = { pan: m[1]!, expiry: m[2]!, serviceCode: m[3]!, discretionary: m[4]! };
  }
  const pan = req.text(2);
  if (pan !== undefined && (pan.length < 12 || pan.length > 19)) return null;
  if (pan !== undefined && track !== undefined && pan !== track.pan) return null;
  const chosen = pan ?? track?.pan;
  if (chosen === undefined) return null;
  const expiry = req.text(14) ?? track?.expiry;
  return new CardInput(chosen, expiry || undefined, track?.serviceCode, track ? { expiry: track.expiry, serviceCode: track.serviceCode, discretionary: track.discretionary } : undefined);
}
