import { describe, expect, it } from 'vitest';
import {
  aesDukptDerivationKey,
  aesDukptInitialKey,
  aesDukptKeys,
  decodeClearPinBlock,
  pinBlockAccount,
  tdesDukptIpek,
  tdesDukptKeys,
  tdesDukptTransactionKey,
  tdesEcb,
} from '../../src/crypto/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const up = (b: Buffer) => b.toString('hex').toUpperCase();

describe('TDES DUKPT (ANSI X9.24-1:2009 Annex A.4)', () => {
  const bdk = hex('0123456789ABCDEFFEDCBA9876543210');
  const ksn = (counter: number) => {
    const k = hex('FFFF9876543210E00000');
    k[7] = (k[7]! & 0xe0) | ((counter >> 16) & 0x1f);
    k[8] = (counter >> 8) & 0xff;
    k[9] = counter & 0xff;
    return k;
  };

  it('derives the IPEK 6AC292FAA1315B4D858AB3A3D7D5933A', () => {
    expect(up(tdesDukptIpek(bdk, ksn(0)))).toBe('6AC292FAA1315B4D858AB3A3D7D5933A');
  });

  // A.4.2: PIN 1234, PAN 4012345678909 → these encrypted PIN blocks for counters 1, 2, 3 and 0x15.
  it.each([
    [1, '1B9C1845EB993A7A'],
    [2, '10A01C8D02C69107'],
    [3, '18DC07B94797B466'],
    [0x15, '72105C22EBC791E6'],
  ])('counter %i: PIN key encrypts the example block to %s, and decrypts it back', (counter, expected) => {
    const keys = tdesDukptKeys(bdk, ksn(counter));
    const clear = hex('041274EDCBA9876F');
    const pik = tdesEcb(keys.pinKey);
    expect(up(pik.encrypt(clear))).toBe(expected);
    expect(decodeClearPinBlock(0, pik.decrypt(hex(expected)), pinBlockAccount('4012345678909'))).toBe('1234');
  });

  it('derives the published future key for counter 1', () => {
    const ipek = tdesDukptIpek(bdk, ksn(1));
    // X9.24-1:2009 A.4.2 lists the current key before the PIN variant is applied.
    expect(up(tdesDukptTransactionKey(ipek, ksn(1)))).toBe('042666B49184CFA368DE9628D0397BC9');
    expect(up(tdesDukptTransactionKey(ipek, ksn(2)))).toBe('C46551CEF9FD24B0AA9AD834130D3BC7');
  });

  // X9.24-3:2017 Annex C working-key vectors for the same BDK (TDES DUKPT restated).
  it.each([
    [1, '042666B49184CF5C68DE9628D0397B36', '042666B4918430A368DE9628D03984C9', '448D3F076D8304036A55A3D7E0055A78'],
    [2, 'C46551CEF9FD244FAA9AD834130D3B38', 'C46551CEF9FDDBB0AA9AD834130DC4C7', 'F1BE73B36135C5C26CF937D50ABBE5AF'],
  ])('counter %i: PIN, MAC-request and data-request keys', (counter, pin, mac, data) => {
    const keys = tdesDukptKeys(bdk, ksn(counter));
    expect(up(keys.pinKey)).toBe(pin);
    expect(up(keys.macKey)).toBe(mac);
    expect(up(keys.dataKey)).toBe(data);
  });

  it('refuses a KSN with more than 10 counter bits set', () => {
    expect(() => tdesDukptKeys(bdk, ksn(0x7ff))).toThrow(/more than 10 bits/);
  });
});

describe('AES DUKPT (ANSI X9.24-3:2017 test vectors, AES-128 BDK)', () => {
  const bdk = hex('FEDCBA9876543210F1F1F1F1F1F1F1F1');
  const ksn = (counter: string) => hex('1234567890123456' + counter);

  it('derives the initial key 1273671EA26AC29AFA4D1084127652A1', () => {
    expect(up(aesDukptInitialKey(bdk, ksn('00000000')))).toBe('1273671EA26AC29AFA4D1084127652A1');
  });

  it('derives the AES-256 initial key of the supplement', () => {
    const bdk256 = Buffer.concat([bdk, bdk]);
    expect(up(aesDukptInitialKey(bdk256, ksn('00000000')))).toBe('CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F');
  });

  it.each([
    ['00000001', '4F21B565BAD9835E112B6465635EAE44'],
    ['00000002', '2F34D68DE10F68D38091A73B9E7C437C'],
    ['00000008', '718EE6CF0B27E53D5F7AF99C4D8146A2'],
    ['0001FFFE', 'E21E8C8D347F8561A2BE752DAA85A111'],
    ['FFFF0000', 'F6BA59389BD14A9855BE9727E7C52E3C'],
  ])('derivation key for counter %s', (counter, expected) => {
    const ik = aesDukptInitialKey(bdk, ksn(counter));
    expect(up(aesDukptDerivationKey(ik, ksn(counter)))).toBe(expected);
  });

  it('derives the PIN, MAC-generation and data-encryption keys of counter 1', () => {
    const keys = aesDukptKeys(bdk, ksn('00000001'));
    expect(up(keys.pinKey)).toBe('AF8CB133A78F8DC2D1359F18527593FB');
    expect(up(keys.macKey)).toBe('A2DC23DE6FDE0824A2BC321E08E4B8B7');
    expect(up(keys.dataKey)).toBe('A35C412EFD41FDB98B69797C02DCD08F');
  });

  it('derives the PIN key of counter 8', () => {
    expect(up(aesDukptKeys(bdk, ksn('00000008')).pinKey)).toBe('4D9DF3FBEE3448FC3E676D04320A90F5');
  });
});
