import { cup, encodeHeader, encodeTpdu, IsoMessage, packCupFrame, swapTpdu, type CupHeader, type FieldValue, type Tpdu } from '../iso8583/index.js';
import type { Hsm, KeyBlock } from '../hsm/index.js';
import type { Reply } from './reply.js';
import { responseMti } from './request.js';

const MAC_PLACEHOLDER = Buffer.alloc(8);

/**
 * Packs a response frame (from LEN on): TPDU swapped, the request's header with the processing
 * request nibble set, MTI + 10, and — when the reply is MACed — field 64 computed over the
 * response's own MTI…last field, as the terminal will check it.
 */
export async function encodeResponse(hsm: Hsm, requestMti: string, tpdu: Tpdu, header: CupHeader, processingRequest: string, reply: Reply, mak: KeyBlock | null): Promise<Buffer> {
  if (reply.body && reply.mac && mak !== null) {
    // Packed once already (and stored so): frame it and MAC it.
    const frame = Buffer.allocUnsafe(13 + reply.body.length);
    frame.writeUInt16BE(11 + reply.body.length, 0);
    encodeTpdu(swapTpdu(tpdu)).copy(frame, 2);
    encodeHeader({ ...header, processingRequest }).copy(frame, 7);
    reply.body.copy(frame, 13);
    const value = await hsm.generateMac(mak, 'cup-ecb', frame.subarray(13, frame.length - 8));
    value.copy(frame, frame.length - 8);
    return frame;
  }
  // A packed body that cannot be MACed now (the terminal signed out meanwhile): send its fields unMACed.
  const fields: Record<number, FieldValue> = reply.body ? fieldsOf(reply.body) : { ...reply.fields };
  const mac = reply.mac && mak !== null;
  if (mac) fields[64] = MAC_PLACEHOLDER;
  else delete fields[64];
  const message = new IsoMessage(responseMti(requestMti), fields);
  const frame = packCupFrame(cup, { tpdu: swapTpdu(tpdu), header: { ...header, processingRequest }, message }, true);
  if (mac) {
    const value = await hsm.generateMac(mak!, 'cup-ecb', frame.subarray(13, frame.length - 8));
    value.copy(frame, frame.length - 8);
  }
  return frame;
}

function fieldsOf(body: Buffer): Record<number, FieldValue> {
  const m = cup.unpack(body);
  const out: Record<number, FieldValue> = {};
  for (const n of m.fieldNumbers()) if (n !== 64) out[n] = m.get(n)!;
  return out;
}
