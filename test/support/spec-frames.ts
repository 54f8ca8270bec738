import { cupEcbMac, tdesEcb } from '../../src/crypto/index.js';
import { cup, IsoMessage, packCupFrame, unpackCupFrame } from '../../src/iso8583/index.js';
import type { TestPlatform } from './platform.js';

/**
 * Requests as terminal 30000001 would send them with the working keys of the protocol's worked
 * examples (shared/protocol/terminal-iso8583.md §12), built byte by byte for raw-link tests.
 */
export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

export const SPEC_KEYS = { pik: '807A23AD32B36D457AE91FDF927570EA', mak: '5BB5C72CD00B7338', tdk: '3E0B7A5D2C1F4986A7D3580E6B2C8F15' } as const;

/** Gives demo terminal 30000001 the worked examples' PIK, MAK and TDK. */
export async function giveSpecKeys(p: TestPlatform): Promise<void> {
  const { hsm, store } = p.platform;
  const pik = await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, hex(SPEC_KEYS.pik));
  const mak = await hsm.importClearKey({ algorithm: 'tdes', length: 8, usage: 'mac' }, hex(SPEC_KEYS.mak));
  const tdk = await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'data' }, hex(SPEC_KEYS.tdk));
  await store.db.updateTable('terminals').set({ pik: pik.key, mak: mak.key, tdk: tdk.key }).where('tid', '=', '30000001').execute();
  p.platform.host.deps.registry.forgetTerminal('30000001');
}

/** Whether a response frame's MAC verifies under the spec's MAK. */
export function macOk(frame: Buffer): boolean {
  return cupEcbMac(hex(SPEC_KEYS.mak), frame.subarray(13, frame.length - 8)).equals(frame.subarray(frame.length - 8));
}

/** A framed request for terminal 30000001, MACed under the spec's MAK unless `forge`. */
export function build(fields: Record<number, string | Buffer>, mti = '0200', forge = false): Buffer {
  const m = new IsoMessage(mti, { ...fields, 64: Buffer.alloc(8) });
  const frame = packCupFrame(cup, { tpdu: { id: '60', destination: '0003', source: '0000' }, header: { applicationType: '60', specVersion: '31', terminalStatus: '0', processingRequest: '0', subVersion: '010200' }, message: m }, true);
  const mac = forge ? Buffer.from('00000000') : cupEcbMac(hex(SPEC_KEYS.mak), frame.subarray(13, frame.length - 8));
  mac.copy(frame, frame.length - 8);
  return frame;
}

/** A framed management request for terminal 30000001 that carries no MAC (0800 394/395, 0820 301, §5.4). */
export function buildUnmaced(fields: Record<number, string | Buffer>, mti: string): Buffer {
  const m = new IsoMessage(mti, { 41: '30000001', 42: '898310054110001', ...fields });
  return packCupFrame(cup, { tpdu: { id: '60', destination: '0003', source: '0000' }, header: { applicationType: '60', specVersion: '31', terminalStatus: '0', processingRequest: '0', subVersion: '010200' }, message: m }, true);
}

/** An ISO 9564 format 0 PIN block under the spec's PIK. */
export function pinBlock(pin: string, pan: string): Buffer {
  const field = Buffer.from(`0${pin.length}${pin}`.padEnd(16, 'F'), 'hex');
  const account = Buffer.from(`0000${pan.slice(0, -1).slice(-12)}`, 'hex');
  return tdesEcb(hex(SPEC_KEYS.pik)).encrypt(Buffer.from(field.map((b, i) => b ^ account[i]!)));
}

/** A swiped sale with PIN 123456 (manual PAN entry of the demo card), batch 1. */
export const saleFields = (stan: string, amount = 1234, pan = '6224242900000113'): Record<number, string | Buffer> => ({
  2: pan, 3: '000000', 4: String(amount).padStart(12, '0'), 11: stan, 14: '2812', 22: '011', 25: '00', 26: '12',
  41: '30000001', 42: '898310054110001', 49: '156', 52: pinBlock('123456', pan), 53: '2600000000000000', 60: '22000001000600',
});

/** The fields of saleFields without the PIN (26, 52, 53): what a reversal, or a void without the cardholder's PIN, carries. */
export function saleFieldsWithoutPin(stan: string, amount = 1234, pan = '6224242900000113'): Record<number, string | Buffer> {
  const { 26: _capture, 52: _pin, 53: _security, ...fields } = saleFields(stan, amount, pan);
  return fields;
}

/** The response code (39) of a response frame. */
export function rcOf(frame: Buffer | null): string {
  return String(unpackCupFrame(cup, frame!, true).message.get(39));
}
