import { randomBytes } from 'node:crypto';
import type { BlockCipher } from './block-cipher.js';
import { CryptoInputError } from './errors.js';
import { requireDigits, xor } from './hex.js';

/**
 * ISO 9564-1 PIN blocks. Formats 0, 1 and 3 are 8-byte clear blocks enciphered with (T)DES by the
 * caller; format 4 is the 16-byte AES format, whose encipherment is part of the format.
 * Nothing here logs, and no error message contains PIN digits.
 */
export type PinBlockFormat = 0 | 1 | 3 | 4;

export const PIN_LENGTH_MIN = 4;
export const PIN_LENGTH_MAX = 12;

/** Why a block did not decode; the host maps every one of these to response code 99. */
export class PinBlockError extends CryptoInputError {
  constructor(reason: string) {
    super('pin_block_invalid', `PIN block does not decode: ${reason}`);
  }
}

/**
 * The 12 account digits bound into formats 0 and 3: the rightmost 12 PAN digits excluding the check
 * digit, left-padded with zeros when the PAN is shorter.
 */
export function pinBlockAccount(pan: string): string {
  requireDigits(pan, 'PAN', 2, 19);
  return pan.slice(0, -1).slice(-12).padStart(12, '0');
}

function checkPin(pin: string): void {
  requireDigits(pin, 'PIN', PIN_LENGTH_MIN, PIN_LENGTH_MAX);
}

function nibbleFill(count: number, format: 1 | 3, random: Uint8Array): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    const r = random[i % random.length]! & 0x0f;
    // Format 3 fill is drawn from A–F only (ISO 9564-1 §9.3.5): 6 values.
    out += format === 3 ? (10 + (r % 6)).toString(16) : r.toString(16);
  }
  return out.toUpperCase();
}

/** The clear 8-byte block of format 0, 1 or 3. `account12` is required for 0 and 3. */
export function encodeClearPinBlock(format: 0 | 1 | 3, pin: string, account12?: string, random?: Uint8Array): Buffer {
  checkPin(pin);
  const head = `${format}${pin.length.toString(16).toUpperCase()}${pin}`;
  const fillLength = 16 - head.length;
  // Format 0 fills with F; only formats 1 and 3 draw random fill (a CSPRNG call costs ~18 µs here).
  const fill = format === 0 ? 'F'.repeat(fillLength) : nibbleFill(fillLength, format, random ?? randomBytes(14));
  const pinField = Buffer.from(head + fill, 'hex');
  if (format === 1) return pinField;
  if (account12 === undefined) throw new CryptoInputError('pan_required', `PIN block format ${format} needs the PAN`);
  requireDigits(account12, 'account number', 12, 12);
  return xor(pinField, Buffer.from(`0000${account12}`, 'hex'));
}

/** Recovers the PIN from a clear format 0, 1 or 3 block, checking every nibble. */
export function decodeClearPinBlock(format: 0 | 1 | 3, block: Uint8Array, account12?: string): string {
  if (block.length !== 8) throw new PinBlockError(`format ${format} blocks are 8 bytes`);
  let pinField: Buffer;
  if (format === 1) {
    pinField = Buffer.from(block);
  } else {
    if (account12 === undefined) throw new CryptoInputError('pan_required', `PIN block format ${format} needs the PAN`);
    requireDigits(account12, 'account number', 12, 12);
    pinField = xor(block, Buffer.from(`0000${account12}`, 'hex'));
  }
  const nibbles = pinField.toString('hex').toUpperCase();
  return readPinField(nibbles, format, 16);
}

function readPinField(nibbles: string, format: PinBlockFormat, fillEnd: number): string {
  if (nibbles[0] !== String(format)) throw new PinBlockError(`control field is not ${format}`);
  const length = parseInt(nibbles[1]!, 16);
  if (length < PIN_LENGTH_MIN || length > PIN_LENGTH_MAX) throw new PinBlockError('PIN length out of range');
  const pin = nibbles.slice(2, 2 + length);
  if (!/^[0-9]+$/.test(pin)) throw new PinBlockError('PIN digit out of range');
  const fill = nibbles.slice(2 + length, fillEnd);
  const fillOk =
    format === 0 ? /^F*$/.test(fill) : format === 3 ? /^[A-F]*$/.test(fill) : format === 4 ? /^A*$/.test(fill) : true;
  if (!fillOk) throw new PinBlockError('fill nibbles are wrong for the format');
  return pin;
}

/** The format 4 plain-text PAN field: M (digits beyond 12) ‖ PAN (left-padded to 12) ‖ 0 fill. */
function format4PanField(pan: string): Buffer {
  requireDigits(pan, 'PAN', 1, 19);
  const m = Math.max(0, pan.length - 12);
  const digits = pan.padStart(12, '0');
  return Buffer.from(`${m}${digits}`.padEnd(32, '0'), 'hex');
}

/** ISO 9564-1 format 4: A = E(PIN field); B = A ⊕ PAN field; block = E(B). `aes` is the PIN key. */
export function encipherFormat4(aes: BlockCipher, pin: string, pan: string, random: Uint8Array = randomBytes(8)): Buffer {
  checkPin(pin);
  if (aes.blockSize !== 16) throw new CryptoInputError('invalid_key', 'format 4 needs an AES key');
  const head = `4${pin.length.toString(16).toUpperCase()}${pin}`.padEnd(16, 'A');
  const pinField = Buffer.concat([Buffer.from(head, 'hex'), Buffer.from(random.subarray(0, 8))]);
  if (pinField.length !== 16) throw new RangeError('format 4 random fill is 8 bytes');
  return aes.encrypt(xor(aes.encrypt(pinField), format4PanField(pan)));
}

export function decipherFormat4(aes: BlockCipher, block: Uint8Array, pan: string): string {
  if (aes.blockSize !== 16) throw new CryptoInputError('invalid_key', 'format 4 needs an AES key');
  if (block.length !== 16) throw new PinBlockError('format 4 blocks are 16 bytes');
  const pinField = aes.decrypt(xor(aes.decrypt(block), format4PanField(pan)));
  return readPinField(pinField.toString('hex').toUpperCase(), 4, 16);
}

/**
 * Why a numeric PIN or password is too easy to guess: one digit repeated (`aaaaaa`) or an
 * ascending or descending run (`123456`, `654321`, wrapping 9→0 counts as a run too). `null` when fine.
 */
export function weakPinReason(pin: string): 'repeated' | 'sequence' | null {
  if (/^(\d)\1*$/.test(pin)) return 'repeated';
  let up = true;
  let down = true;
  for (let i = 1; i < pin.length; i++) {
    const step = (Number(pin[i]) - Number(pin[i - 1]) + 10) % 10;
    if (step !== 1) up = false;
    if (step !== 9) down = false;
  }
  return up || down ? 'sequence' : null;
}
