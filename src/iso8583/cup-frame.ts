import { Iso8583Error } from './errors.js';
import type { IsoMessage } from './message.js';
import type { Dialect } from './engine.js';

/**
 * The framing of the posgate terminal protocol (§1.1–§1.3): LEN (2 bytes, binary) ‖ TPDU (5 bytes
 * BCD) ‖ header (6 bytes) ‖ message. LEN counts everything after itself.
 */
export interface Tpdu {
  /** `60` */
  readonly id: string;
  readonly destination: string;
  readonly source: string;
}

export interface CupHeader {
  readonly applicationType: string;
  readonly specVersion: string;
  readonly terminalStatus: string;
  /** one hex nibble: 0 none, 3 sign in again, 9 download QPS parameters, … */
  readonly processingRequest: string;
  readonly subVersion: string;
}

export interface CupFrame {
  readonly tpdu: Tpdu;
  readonly header: CupHeader;
  readonly message: IsoMessage;
}

export const LEN_BYTES = 2;
export const TPDU_BYTES = 5;
export const HEADER_BYTES = 6;
/** Offset of the MTI in a framed message, where the MAC input (MAB) starts. */
export const MTI_OFFSET_FRAMED = LEN_BYTES + TPDU_BYTES + HEADER_BYTES;
/** The smallest message: TPDU, header, MTI, bitmap (§1.4 "LEN below 21"). */
export const FRAME_LENGTH_MIN = TPDU_BYTES + HEADER_BYTES + 2 + 8;
export const FRAME_LENGTH_MAX = 4096;

export function decodeTpdu(buf: Buffer, at: number): Tpdu {
  const text = buf.toString('hex', at, at + TPDU_BYTES);
  if (text.length !== 10) throw new Iso8583Error('truncated', undefined, at, '5 TPDU bytes');
  if (!/^[0-9]{10}$/.test(text)) throw new Iso8583Error('invalid_bcd', undefined, at, 'a BCD TPDU');
  return { id: text.slice(0, 2), destination: text.slice(2, 6), source: text.slice(6, 10) };
}

export function decodeHeader(buf: Buffer, at: number): CupHeader {
  const text = buf.toString('hex', at, at + HEADER_BYTES).toUpperCase();
  if (text.length !== 12) throw new Iso8583Error('truncated', undefined, at, '6 header bytes');
  // Nibble 6 is the processing request, which UnionPay defines up to D; the rest are decimal.
  if (!/^[0-9]{5}[0-9A-F][0-9]{6}$/.test(text)) throw new Iso8583Error('invalid_bcd', undefined, at, 'a BCD message header');
  return {
    applicationType: text.slice(0, 2),
    specVersion: text.slice(2, 4),
    terminalStatus: text.slice(4, 5),
    processingRequest: text.slice(5, 6),
    subVersion: text.slice(6, 12),
  };
}

export function encodeTpdu(tpdu: Tpdu): Buffer {
  const text = tpdu.id + tpdu.destination + tpdu.source;
  if (!/^[0-9]{10}$/.test(text)) throw new Iso8583Error('invalid_value', undefined, 0, 'TPDU id (2), destination (4) and source (4) digits');
  return Buffer.from(text, 'hex');
}

export function encodeHeader(header: CupHeader): Buffer {
  const text = header.applicationType + header.specVersion + header.terminalStatus + header.processingRequest + header.subVersion;
  if (!/^[0-9]{5}[0-9A-Fa-f][0-9]{6}$/.test(text)) throw new Iso8583Error('invalid_value', undefined, 0, 'a header of 12 BCD nibbles');
  return Buffer.from(text, 'hex');
}

/** The response TPDU: destination and source swapped (§1.2). */
export function swapTpdu(tpdu: Tpdu): Tpdu {
  return { id: tpdu.id, destination: tpdu.source, source: tpdu.destination };
}

/** Decodes a frame that starts at the TPDU (`framed: false`) or at LEN (`framed: true`). */
export function unpackCupFrame(dialect: Dialect, buf: Buffer, framed: boolean): CupFrame {
  let start = 0;
  if (framed) {
    if (buf.length < LEN_BYTES) throw new Iso8583Error('truncated', undefined, 0, 'the 2-byte length');
    const length = buf.readUInt16BE(0);
    if (length !== buf.length - LEN_BYTES) {
      throw new Iso8583Error(length > buf.length - LEN_BYTES ? 'truncated' : 'trailing_bytes', undefined, 0, `LEN ${length} to equal the ${buf.length - LEN_BYTES} bytes that follow it`);
    }
    start = LEN_BYTES;
  }
  if (buf.length - start < FRAME_LENGTH_MIN) throw new Iso8583Error('truncated', undefined, start, `at least ${FRAME_LENGTH_MIN} bytes from the TPDU on`);
  if (buf.length - start > FRAME_LENGTH_MAX) throw new Iso8583Error('invalid_frame', undefined, start, `at most ${FRAME_LENGTH_MAX} bytes`);
  const tpdu = decodeTpdu(buf, start);
  const header = decodeHeader(buf, start + TPDU_BYTES);
  const mtiAt = start + TPDU_BYTES + HEADER_BYTES;
  try {
    const message = dialect.unpack(buf, mtiAt, buf.length);
    return { tpdu, header, message };
  } catch (err) {
    // Report offsets from the start of what the caller handed over, not from the MTI.
    if (err instanceof Iso8583Error) throw new Iso8583Error(err.code, err.field, err.offset + mtiAt, err.expected);
    throw err;
  }
}

export function packCupFrame(dialect: Dialect, frame: CupFrame, framed: boolean): Buffer {
  const body = dialect.pack(frame.message);
  const inner = TPDU_BYTES + HEADER_BYTES + body.length;
  if (inner > FRAME_LENGTH_MAX) throw new Iso8583Error('invalid_frame', undefined, 0, `at most ${FRAME_LENGTH_MAX} bytes from the TPDU on, got ${inner}`);
  const out = Buffer.allocUnsafe((framed ? LEN_BYTES : 0) + inner);
  let at = 0;
  if (framed) {
    out.writeUInt16BE(inner, 0);
    at = LEN_BYTES;
  }
  encodeTpdu(frame.tpdu).copy(out, at);
  encodeHeader(frame.header).copy(out, at + TPDU_BYTES);
  body.copy(out, at + TPDU_BYTES + HEADER_BYTES);
  return out;
}
