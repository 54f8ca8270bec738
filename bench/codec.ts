/**
 * `npm run bench:codec`: ISO 8583 pack/unpack throughput against the npm package iso_8583 on an
 * equivalent message, and HSM MAC / PIN operations per second with keys held in the module.
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { cupEcbMac, encodeClearPinBlock, encodeTlv, pinBlockAccount, tdesEcb, iso87ascii, cup, IsoMessage, lmkFromBytes, SoftwareHsm } from './surface.js';
import { formatRate, measure, measureAsync, measureInterleaved, type Rate } from './measure.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Iso8583Npm = require('iso_8583') as any;

const hex = (s: string) => Buffer.from(s, 'hex');

// A typical chip sale request: 19 fields, track 2, PIN block, field 55 with 20 EMV tags, MAC.
const ICC = encodeTlv(
  [
    ['9F26', 'A1B2C3D4E5F60708'], ['9F27', '80'], ['9F10', '07010103A0A802010A010000000000'], ['9F37', '1A2B3C4D'],
    ['9F36', '0001'], ['95', '0000000000'], ['9A', '261121'], ['9C', '00'], ['9F02', '000000001234'], ['9F03', '000000000000'],
    ['5F2A', '0156'], ['82', '7C00'], ['9F1A', '0156'], ['9F33', 'E0F1C8'], ['9F34', '420300'], ['9F35', '22'],
    ['9F1E', '3132333435363738'], ['84', 'A0000003330101'], ['9F09', '0030'], ['9F41', '00000003'],
  ].map(([tag, value]) => ({ tag: tag!, value: hex(value!) })),
);
const FIELDS = {
  2: '6224242900000113', 3: '000000', 4: '000000001234', 11: '000002', 14: '2812', 22: '051', 23: '001', 25: '00', 26: '12',
  35: '6224242900000113D2812101000000000', 41: '30000001', 42: '898310054110001', 49: '156', 53: '2610000000000000',
  60: '22000001000600', 63: '01 ',
};
const cupSale = new IsoMessage('0200', { ...FIELDS, 52: hex('23B72AC5781BA141'), 55: ICC, 64: Buffer.from('DD493AC3') });
const asciiSale = new IsoMessage('0200', { ...FIELDS, 35: FIELDS[35].replace('D', '='), 52: hex('23B72AC5781BA141'), 55: ICC, 64: Buffer.from('DD493AC3') });
const npmData = { 0: '0200', ...FIELDS, 52: '23B72AC5781BA141', 55: ICC.toString('hex').toUpperCase(), 64: '4444343933414333' };
const npmFormats = {
  53: { ContentType: 'n', Label: 'security control', LenType: 'fixed', MaxLen: 16 },
  64: { ContentType: 'b', Label: 'MAC', LenType: 'fixed', MaxLen: 16 },
};

function codecRates(): Rate[] {
  const cupBytes = cup.pack(cupSale);
  const asciiBytes = iso87ascii.pack(asciiSale);
  const npmBytes: Buffer = new Iso8583Npm(npmData, npmFormats).getBufferMessage();
  if (!Buffer.isBuffer(npmBytes)) throw new Error(`iso_8583 could not pack the message: ${JSON.stringify(npmBytes)}`);
  const npmBack = new Iso8583Npm(undefined, npmFormats).getIsoJSON(npmBytes);
  if (npmBack['55'] !== npmData[55]) throw new Error('iso_8583 did not round-trip the message');
  console.log(`message sizes: cup ${cupBytes.length} B, iso87ascii ${asciiBytes.length} B, iso_8583 ${npmBytes.length} B (19 fields, 20 EMV tags)`);
  return measureInterleaved([
    { name: 'posgate cup         unpack', fn: () => cup.unpack(cupBytes) },
    { name: 'posgate iso87ascii  unpack', fn: () => iso87ascii.unpack(asciiBytes) },
    { name: 'npm iso_8583        unpack (getIsoJSON)', fn: () => new Iso8583Npm(undefined, npmFormats).getIsoJSON(npmBytes), batch: 4_000 },
    { name: 'posgate cup         pack', fn: () => cup.pack(cupSale) },
    { name: 'posgate iso87ascii  pack', fn: () => iso87ascii.pack(asciiSale) },
    { name: 'npm iso_8583        pack (getBufferMessage)', fn: () => new Iso8583Npm(npmData, npmFormats).getBufferMessage(), batch: 1_000 },
  ]);
}

async function hsmRates(): Promise<Rate[]> {
  const hsm = new SoftwareHsm(lmkFromBytes(randomBytes(32)));
  const makClear = hex('5BB5C72CD00B7338');
  const mak = (await hsm.importClearKey({ algorithm: 'tdes', length: 8, usage: 'mac' }, makClear)).key;
  const pik = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, hex('807A23AD32B36D457AE91FDF927570EA'))).key;
  const zpk = (await hsm.generateKey({ algorithm: 'tdes', length: 16, usage: 'pin' })).key;
  const pvk = (await hsm.generateKey({ algorithm: 'tdes', length: 16, usage: 'pvk' })).key;
  const pan = '6224242900000113';
  const pvv = await hsm.issuePvv(pan, '123456', { pvk, pvki: '1' });
  const frame = cup.pack(cupSale);
  const mab = frame.subarray(0, frame.length - 8);
  const mac = frame.subarray(frame.length - 8);
  const block = tdesEcb(hex('807A23AD32B36D457AE91FDF927570EA')).encrypt(encodeClearPinBlock(0, '123456', pinBlockAccount(pan)));
  const input = { pan, block, under: { key: pik, format: 0 as const } };
  return [
    await measureAsync('HSM verifyMac cup-ecb (MAK by handle)', () => hsm.verifyMac(mak, 'cup-ecb', mab, mac)),
    measure('  reference: cup-ecb with a new cipher per call', () => cupEcbMac(makClear, mab), { batch: 5_000 }),
    await measureAsync('HSM translatePin format 0 PIK → ZPK', () => hsm.translatePin(input, { key: zpk, format: 0 })),
    await measureAsync('HSM verifyPvv from a PIN block', () => hsm.verifyPvv(input, { pvk, pvki: '1', pvv })),
  ];
}

const codec = codecRates();
for (const r of codec) console.log(formatRate(r));
const by = (name: string) => codec.find((r) => r.name.startsWith(name))!.perSecond;
const npmUnpack = by('npm iso_8583        unpack');
const npmPack = by('npm iso_8583        pack');
console.log(`ratio unpack: cup ${(by('posgate cup         unpack') / npmUnpack).toFixed(1)}×, iso87ascii ${(by('posgate iso87ascii  unpack') / npmUnpack).toFixed(1)}× iso_8583`);
console.log(`ratio pack:   cup ${(by('posgate cup         pack') / npmPack).toFixed(1)}×, iso87ascii ${(by('posgate iso87ascii  pack') / npmPack).toFixed(1)}× iso_8583`);
console.log('');
for (const r of await hsmRates()) console.log(formatRate(r));
