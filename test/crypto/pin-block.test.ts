import { describe, expect, it } from 'vitest';
import {
  aesEcb,
  decipherFormat4,
  decodeClearPinBlock,
  encipherFormat4,
  encodeClearPinBlock,
  pinBlockAccount,
  tdesEcb,
  weakPinReason,
} from '../../src/crypto/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const up = (b: Buffer) => b.toString('hex').toUpperCase();

describe('ISO 9564-1 format 0', () => {
  // posgate protocol §6.4 illustration (PIK of §6.2).
  it('builds and enciphers the §6.4 example block', () => {
    const account = pinBlockAccount('6224242900000113');
    expect(account).toBe('424290000011');
    const clear = encodeClearPinBlock(0, '123456', account);
    expect(up(clear)).toBe('061276146FFFFFEE');
    expect(up(tdesEcb(hex('807A23AD32B36D457AE91FDF927570EA')).encrypt(clear))).toBe('23B72AC5781BA141');
  });

  // ANSI X9.24-1:2009 A.4: PIN 1234, PAN 4012345678909 → clear block 041274EDCBA9876F.
  it('builds the X9.24 DUKPT example block', () => {
    expect(up(encodeClearPinBlock(0, '1234', pinBlockAccount('4012345678909')))).toBe('041274EDCBA9876F');
  });

  it('builds operator password blocks with the terminal ID in place of the PAN (§10.2)', () => {
    const clear = encodeClearPinBlock(0, '123456', '0000' + '30000001');
    expect(up(clear)).toBe('06123456CFFFFFFE');
    expect(up(tdesEcb(hex('807A23AD32B36D457AE91FDF927570EA')).encrypt(clear))).toBe('DFB27320502A595C');
  });

  it('decodes what it encodes, for every PIN length', () => {
    const account = pinBlockAccount('6224242900000113');
    for (let n = 4; n <= 12; n++) {
      const pin = '987654321098'.slice(0, n);
      expect(decodeClearPinBlock(0, encodeClearPinBlock(0, pin, account), account)).toBe(pin);
    }
  });

  it('rejects a block decoded under the wrong PAN, without naming the PIN', () => {
    const block = encodeClearPinBlock(0, '123456', pinBlockAccount('6224242900000113'));
    expect(() => decodeClearPinBlock(0, block, pinBlockAccount('6224242900000121'))).toThrowError(
      expect.objectContaining({ code: 'pin_block_invalid', message: expect.not.stringContaining('123456') }),
    );
  });

  it.each([
    ['wrong control nibble', '161276146FFFFFEE'],
    ['PIN length 3', '031276146FFFFFEE'],
    ['PIN length 13', '0D1276146FFFFFEE'],
    ['non-digit PIN nibble', '06127614AFFFFFEE'],
    ['fill not F', '061276146FFFFFE0'],
  ])('rejects a clear block with %s', (_why, block) => {
    expect(() => decodeClearPinBlock(0, hex(block), '424290000011')).toThrow(/PIN block does not decode/);
  });

  it('refuses a PIN that is too short or not digits', () => {
    expect(() => encodeClearPinBlock(0, '123', '424290000011')).toThrow(/PIN must be 4 to 12/);
    expect(() => encodeClearPinBlock(0, '12a4', '424290000011')).toThrow(/PIN must be 4 to 12/);
  });
});

describe('ISO 9564-1 formats 1 and 3', () => {
  it('format 1 carries the PIN without the PAN and random fill', () => {
    const block = encodeClearPinBlock(1, '2468', undefined, hex('0102030405060708090A0B0C0D0E'));
    expect(up(block)).toBe('142468123456789A');
    expect(decodeClearPinBlock(1, block)).toBe('2468');
  });

  it('format 3 fills with A–F only and binds the PAN', () => {
    const account = pinBlockAccount('4012345678909');
    for (let i = 0; i < 50; i++) {
      const block = encodeClearPinBlock(3, '1234', account);
      const pinField = Buffer.from(block.toString('hex'), 'hex');
      const accountField = hex('0000' + account);
      for (let j = 0; j < 8; j++) pinField[j]! ^= accountField[j]!;
      expect(pinField.toString('hex').toUpperCase()).toMatch(/^341234[A-F]{10}$/);
      expect(decodeClearPinBlock(3, block, account)).toBe('1234');
    }
  });

  it('format 3 rejects a fill nibble outside A–F', () => {
    const account = pinBlockAccount('4012345678909');
    const block = encodeClearPinBlock(0, '1234', account); // F fill is valid for 3 too, so craft a 0
    block[7]! ^= 0x0f;
    expect(() => decodeClearPinBlock(3, block, account)).toThrow(/PIN block does not decode/);
  });
});

describe('ISO 9564-1 format 4 (AES)', () => {
  // paysec-pinblock (Rust) published example: random fill FF×8.
  it('enciphers the published deterministic example', () => {
    const key = aesEcb(hex('00112233445566778899AABBCCDDEEFF'));
    const block = encipherFormat4(key, '1234', '1234567890123456789', Buffer.alloc(8, 0xff));
    expect(up(block)).toBe('28B41FDDD29B743E93124BD8E32D921E');
  });

  it.each([
    ['1234', '1234567890123456', '52DB178C6EDCE52E3A70F7FBC8E9C758'],
    ['123456', '123456789012345678', '847A0209C659E4C4A79CA6A2A2217D31'],
    ['12345678', '1234567890123456789', '018BFEC8B5EF60181A327AD8325A2BA4'],
  ])('deciphers the published block for PIN %s', (pin, pan, block) => {
    expect(decipherFormat4(aesEcb(hex('00112233445566778899AABBCCDDEEFF')), hex(block), pan)).toBe(pin);
  });

  it('round-trips with every AES key size and refuses the wrong PAN', () => {
    for (const size of [16, 24, 32]) {
      const key = aesEcb(Buffer.alloc(size, 7));
      const block = encipherFormat4(key, '0000', '4761739001010010');
      expect(decipherFormat4(key, block, '4761739001010010')).toBe('0000');
      expect(() => decipherFormat4(key, block, '4761739001010028')).toThrow(/PIN block does not decode/);
    }
  });
});

describe('weak PINs and operator passwords', () => {
  it.each([
    ['111111', 'repeated'],
    ['0000', 'repeated'],
    ['123456', 'sequence'],
    ['654321', 'sequence'],
    ['7890', 'sequence'],
    ['740285', null],
    ['12345670', null],
  ])('%s → %s', (pin, reason) => {
    expect(weakPinReason(pin)).toBe(reason);
  });
});
