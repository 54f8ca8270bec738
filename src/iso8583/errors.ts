/**
 * Every way a message can fail to decode or encode. `code` is stable; `field` is the field number
 * (0 for the MTI, 1 for the bitmap, undefined for the frame); `offset` is the byte offset from the
 * start of the buffer handed to the decoder; `expected` says what would have been valid there.
 * Messages never contain field values, so a PAN or PIN block cannot leak through an error.
 */
export type Iso8583ErrorCode =
  | 'truncated'
  | 'trailing_bytes'
  | 'invalid_mti'
  | 'invalid_bitmap'
  | 'unknown_field'
  | 'invalid_length_prefix'
  | 'length_exceeds_max'
  | 'invalid_bcd'
  | 'invalid_pad'
  | 'invalid_character'
  | 'invalid_tlv'
  | 'invalid_value'
  | 'invalid_frame';

export class Iso8583Error extends Error {
  override readonly name = 'Iso8583Error';
  constructor(
    readonly code: Iso8583ErrorCode,
    readonly field: number | undefined,
    readonly offset: number,
    readonly expected: string,
  ) {
    super(`${field === undefined ? 'frame' : field === 0 ? 'MTI' : field === 1 ? 'bitmap' : `field ${field}`}: ${code.replace(/_/g, ' ')} at byte ${offset}; expected ${expected}`);
  }
}
