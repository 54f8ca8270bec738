import { describe, expect, it } from 'vitest';
import { applicationCryptogramSessionKey, arpcMethod1, deriveIccMasterKey } from '../../src/crypto/index.js';
import { decodeTlv, encodeTlv } from '../../src/iso8583/index.js';
import { ChipCardSimulator } from '../../src/terminal/index.js';

const IMK = Buffer.from('89ABCDEF01234567FEDCBA9876543210', 'hex');
const PAN = '6224242900000113';

describe('the simulated chip card', () => {
  it('answers GENERATE AC with every data object §5.2 C7 requires, counting its transactions', () => {
    const chip = ChipCardSimulator.personalised(IMK, PAN, '01');
    const first = new Map(decodeTlv(chip.generateArqc({ amountFen: 1_234, type: '00' })).map((o) => [o.tag, o.value.toString('hex').toUpperCase()]));
    for (const tag of ['9F26', '9F27', '9F10', '9F37', '9F36', '95', '9A', '9C', '9F02', '5F2A', '82', '9F1A', '9F33', '9F34', '9F35']) expect(first.has(tag)).toBe(true);
    expect(first.get('9F02')).toBe('000000001234');
    expect(first.get('9F27')).toBe('80');
    expect(first.get('9F36')).toBe('0001');
    const second = new Map(decodeTlv(chip.generateArqc({ amountFen: 1_234, type: '00' })).map((o) => [o.tag, o.value.toString('hex')]));
    expect(second.get('9F36')).toBe('0002');
    expect(second.get('9F26')).not.toBe(first.get('9F26')?.toLowerCase());
    expect(chip.cardSequence).toBe('001');
  });

  it('accepts the issuer\'s ARPC for its last ARQC only', () => {
    const chip = ChipCardSimulator.personalised(IMK, PAN, '01');
    const objects = new Map(decodeTlv(chip.generateArqc({ amountFen: 500, type: '00' })).map((o) => [o.tag, o.value]));
    const sessionKey = applicationCryptogramSessionKey(deriveIccMasterKey(IMK, PAN, '01'), objects.get('9F36')!);
    const arc = Buffer.from('00', 'latin1');
    const answer = (arpc: Buffer) => encodeTlv([{ tag: '91', value: Buffer.concat([arpc, arc]) }]);
    expect(chip.checkIssuerAuthentication(answer(arpcMethod1(sessionKey, objects.get('9F26')!, arc)))).toBe(true);
    expect(chip.checkIssuerAuthentication(answer(Buffer.alloc(8)))).toBe(false);
    expect(chip.checkIssuerAuthentication(encodeTlv([{ tag: '91', value: Buffer.alloc(4) }]))).toBe(false);
    expect(chip.checkIssuerAuthentication(Buffer.from([0x9f]))).toBe(false);
    expect(chip.checkIssuerAuthentication(undefined)).toBeUndefined();
    expect(chip.checkIssuerAuthentication(encodeTlv([{ tag: '71', value: Buffer.alloc(2) }]))).toBeUndefined();
  });
});
