import { describe, expect, it } from 'vitest';
import {
  cardVerificationValue,
  checkIdNumber,
  defaultValidationData,
  ibm3624NaturalPin,
  ibm3624Offset,
  ibm3624PinFromOffset,
  idNumberCheckCharacter,
  luhnCheckDigit,
  luhnValid,
  tdesEcb,
  visaPvv,
} from '../../src/crypto/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const PVK = tdesEcb(hex('0123456789ABCDEFFEDCBA9876543210'));

describe('Visa PVV', () => {
  // psec (pyemv) tests/test_pin.py test_generate_visa_pvv.
  it.each([
    ['1', '4524', '1122334455667788', '8523'],
    ['2', '1912', '1122334455667788', '3244'],
    ['1', '0570', '1122334455667718', '3144'],
    ['1', '8299', '1122334455667708', '4422'],
  ])('PVKI %s, PIN %s, PAN %s → %s', (pvki, pin, pan, pvv) => {
    expect(visaPvv(PVK, pan, pvki, pin)).toBe(pvv);
  });
});

describe('IBM 3624 PIN offset', () => {
  // psec tests/test_pin.py: validation data = the whole 16-digit "PAN", decimalisation table 1234567890123456.
  const table = '1234567890123456';
  it('natural PIN and offsets match psec', () => {
    expect(ibm3624NaturalPin(PVK, '1122334455667788', table, 4)).toBe('4524');
    expect(ibm3624Offset(PVK, '1122334455667788', table, '1234')).toBe('7710');
    expect(ibm3624Offset(PVK, '1122334455667788', table, '0000')).toBe('6586');
    expect(ibm3624Offset(PVK, '11223344556677FF', table, '5518')).toBe('0000');
    expect(ibm3624PinFromOffset(PVK, '1122334455667788', table, '7697')).toBe('1111');
  });

  it('default validation data is the 12 PAN digits left of the check digit padded with F', () => {
    expect(defaultValidationData('4000001234567899')).toBe('000123456789FFFF');
  });
});

describe('CVV / CVC', () => {
  const a = tdesEcb(hex('0123456789ABCDEF'));
  const ab = tdesEcb(hex('0123456789ABCDEFFEDCBA9876543210'));
  // Visa's published example: PAN 4123456789012345, expiry 8701, service code 101 → 561.
  it('reproduces the Visa CVV example', () => {
    expect(cardVerificationValue(a, ab, '4123456789012345', '8701', '101')).toBe('561');
  });
  // psec cvv.generate_cvv docstring.
  it('reproduces the psec example', () => {
    expect(cardVerificationValue(a, ab, '1234567890123456', '9912', '220')).toBe('170');
  });
});

describe('Luhn', () => {
  it('accepts valid numbers and rejects altered ones', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('6224242900000113')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('4111 1111')).toBe(false);
    expect(luhnCheckDigit('7992739871')).toBe('3');
  });
});

describe('GB 11643 resident ID numbers', () => {
  it('accepts the standard example 11010519491231002X', () => {
    const r = checkIdNumber('11010519491231002X');
    expect(r).toMatchObject({ valid: true, birthDate: '1949-12-31', sex: 'female', regionCode: '110105' });
  });
  it('computes the check character', () => {
    expect(idNumberCheckCharacter('11010519491231002')).toBe('X');
  });
  it('names what is wrong', () => {
    expect(checkIdNumber('110105194912310021')).toMatchObject({ valid: false, problem: 'check_digit', expectedCheck: 'X' });
    expect(checkIdNumber('110105194902300021')).toMatchObject({ valid: false, problem: 'birth_date' });
    expect(checkIdNumber('11010519491231')).toMatchObject({ valid: false, problem: 'format' });
    expect(checkIdNumber('110105299912310021', new Date('2026-01-01'))).toMatchObject({ valid: false, problem: 'birth_date' });
  });
});
