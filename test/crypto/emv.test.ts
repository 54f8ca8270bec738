import { describe, expect, it } from 'vitest';
import { applicationCryptogram, applicationCryptogramSessionKey, arpcMethod1, arqcData, deriveCommonSessionKey, deriveIccMasterKey, tdesKcv } from '../../src/crypto/index.js';

// Reference values published with the pyemv library's tests (issuer master key 0123…3210, KCV 08D7).
const IMK = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex');
const hex = (b: Buffer) => b.toString('hex').toUpperCase();

describe('EMV application cryptograms', () => {
  it('derives the ICC master key by Option A (rightmost 16 digits of PAN ‖ PSN)', () => {
    expect(hex(tdesKcv(IMK, 2))).toBe('08D7');
    expect(hex(deriveIccMasterKey(IMK, '99012345678901234', '45'))).toBe('67F8292358083E5EA7AB7FDA58D53B6B');
    expect(hex(tdesKcv(deriveIccMasterKey(IMK, '9901234567890123', '45'), 2))).toBe('1DA5');
    expect(hex(tdesKcv(deriveIccMasterKey(IMK, '12345678901234567', '45'), 2))).toBe('FF08');
  });

  it('derives the common session key, computes the ARQC (padding 2) and the ARPC (method 1)', () => {
    const mk = deriveIccMasterKey(IMK, '9901234567890123', '45');
    const sk = deriveCommonSessionKey(mk, Buffer.from('1234567890123456', 'hex'));
    expect(hex(tdesKcv(sk, 2))).toBe('0995');
    const arqc = applicationCryptogram(sk, Buffer.from('0123456789ABCDEF0123456789ABCDEF', 'hex'));
    expect(hex(arqc)).toBe('4B46013359B7A58B');
    expect(hex(arpcMethod1(mk, arqc, Buffer.from('0000', 'hex')))).toBe('F8C9CECAABD55AD1');
  });

  it('the session key of a transaction is diversified by its ATC alone', () => {
    const mk = deriveIccMasterKey(IMK, '6224242900000113', '01');
    const atc1 = applicationCryptogramSessionKey(mk, Buffer.from('0001', 'hex'));
    expect(atc1).toEqual(deriveCommonSessionKey(mk, Buffer.from('0001000000000000', 'hex')));
    expect(applicationCryptogramSessionKey(mk, Buffer.from('0002', 'hex'))).not.toEqual(atc1);
    expect(() => applicationCryptogramSessionKey(mk, Buffer.from('01', 'hex'))).toThrow(/ATC is 2 bytes/);
  });

  it('collects the ARQC data in order, with a zero amount other when absent, and refuses a short tag', () => {
    const tags: Record<string, string> = { '9F02': '000000001000', '9F1A': '0156', '95': '0000000000', '5F2A': '0156', '9A': '261122', '9C': '00', '9F37': '11223344', '82': '7C00', '9F36': '0001', '9F10': '07010103A0A802' };
    const get = (t: Record<string, string>) => (name: string) => (t[name] === undefined ? undefined : Buffer.from(t[name]!, 'hex'));
    expect(arqcData(get(tags))?.toString('hex').toUpperCase()).toBe('000000001000' + '000000000000' + '0156' + '0000000000' + '0156' + '261122' + '00' + '11223344' + '7C00' + '0001' + '03A0A802');
    expect(arqcData(get({ ...tags, '9F37': '1122' }))).toBeUndefined();
    expect(arqcData(get({ ...tags, '9F10': '0701' }))).toBeUndefined();
    const { '82': _aip, ...noAip } = tags;
    expect(arqcData(get(noAip))).toBeUndefined();
  });
});
