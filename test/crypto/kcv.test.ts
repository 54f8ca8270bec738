import { describe, expect, it } from 'vitest';
import { aesKcv, generateTdesKey, hasOddParity, isWeakDesKey, tdesKcv } from '../../src/crypto/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const up = (b: Buffer) => b.toString('hex').toUpperCase();

describe('key check values', () => {
  // posgate protocol §6.2 / §10.1: KCVs carried in the 0810 and the 901 response.
  it('TDES KCVs match the protocol vectors', () => {
    expect(up(tdesKcv(hex('807A23AD32B36D457AE91FDF927570EA'), 4))).toBe('8D0A74B8');
    expect(up(tdesKcv(hex('5BB5C72CD00B7338'), 4))).toBe('AB7153CA');
    expect(up(tdesKcv(hex('3E0B7A5D2C1F4986A7D3580E6B2C8F15'), 4))).toBe('F31841DC');
    expect(up(tdesKcv(hex('CA5D92598DCA48CE8A4C76361A9269E9'), 4))).toBe('43C6CCCB');
  });

  it('defaults to 3 bytes', () => {
    expect(up(tdesKcv(hex('CA5D92598DCA48CE8A4C76361A9269E9')))).toBe('43C6CC');
  });

  // AES KCV by CMAC over 16 zero bytes equals the first bytes of the RFC 4493 CMAC of one zero block;
  // by encryption of zeros it equals FIPS-197-style ECB of a zero block.
  it('AES KCV conventions differ and are each the documented computation', () => {
    const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
    const cmac = aesKcv(key, 'cmac');
    const zeros = aesKcv(key, 'encrypt-zeros');
    expect(cmac.equals(zeros)).toBe(false);
    // AES-128 ECB of a zero block under the RFC 4493 key: L = 7DF76B0C1AB899B33E42F047B91B546F (RFC 4493 §4 subkey generation).
    expect(up(aesKcv(key, 'encrypt-zeros', 16))).toBe('7DF76B0C1AB899B33E42F047B91B546F');
  });
});

describe('generated TDES keys', () => {
  it('have odd parity, no weak halves and distinct halves', () => {
    for (let i = 0; i < 200; i++) {
      const key = generateTdesKey(16);
      expect(hasOddParity(key)).toBe(true);
      expect(isWeakDesKey(key.subarray(0, 8)) || isWeakDesKey(key.subarray(8))).toBe(false);
      expect(key.subarray(0, 8).equals(key.subarray(8))).toBe(false);
    }
  });
  it('recognises weak keys', () => {
    expect(isWeakDesKey(hex('0101010101010101'))).toBe(true);
    expect(isWeakDesKey(hex('0000000000000000'))).toBe(true);
    expect(isWeakDesKey(hex('0123456789ABCDEF'))).toBe(false);
  });
});
