import { describe, expect, it } from 'vitest';
import { posgate, posgateBinary } from './run-cli.js';

describe('posgate crypto kcv', () => {
  it('prints the TDES KCV, and JSON with --json', async () => {
    const text = await posgate(['crypto', 'kcv', '--key', 'CA5D92598DCA48CE8A4C76361A9269E9']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('KCV 43C6CC');
    const json = await posgate(['crypto', 'kcv', '--key', 'CA5D92598DCA48CE8A4C76361A9269E9', '--length', '4', '--json']);
    expect(json.json()).toEqual({ alg: 'tdes', method: 'encrypt-zeros', kcv: '43C6CCCB' });
  });
  it('labels the AES convention', async () => {
    const cmac = (await posgate(['crypto', 'kcv', '--alg', 'aes', '--key', '2B7E151628AED2A6ABF7158809CF4F3C', '--json'])).json();
    const zeros = (await posgate(['crypto', 'kcv', '--alg', 'aes', '--method', 'encrypt-zeros', '--key', '2B7E151628AED2A6ABF7158809CF4F3C', '--json'])).json();
    expect(cmac.method).toBe('cmac');
    expect(zeros).toEqual({ alg: 'aes', method: 'encrypt-zeros', kcv: '7DF76B' });
  });
  it('exits 2 with a clear message on a bad key', async () => {
    const r = await posgate(['crypto', 'kcv', '--key', '1234']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--key must be 16 or 32 or 48 hex digits');
    const j = await posgate(['crypto', 'kcv', '--key', 'ZZ', '--json']);
    expect(j.json()).toEqual({ error: { code: 'invalid_hex', message: '--key must be an even number of hex digits' } });
  });
});

describe('posgate crypto pinblock', () => {
  it('encodes and enciphers the protocol §6.4 block', async () => {
    const r = await posgate(['crypto', 'pinblock', 'encode', '--format', '0', '--pin', '123456', '--pan', '6224242900000113', '--key', '807A23AD32B36D457AE91FDF927570EA', '--json']);
    expect(r.json()).toEqual({ format: 0, block: '23B72AC5781BA141', enciphered: true });
    const clear = await posgate(['crypto', 'pinblock', 'encode', '--format', '0', '--pin', '123456', '--pan', '6224242900000113']);
    expect(clear.stdout).toContain('061276146FFFFFEE');
  });
  it('decodes it back', async () => {
    const r = await posgate(['crypto', 'pinblock', 'decode', '--format', '0', '--block', '23B72AC5781BA141', '--pan', '6224242900000113', '--key', '807A23AD32B36D457AE91FDF927570EA', '--json']);
    expect(r.json()).toEqual({ format: 0, pin: '123456' });
  });
  it('round-trips format 4 and format 3', async () => {
    const key = '00112233445566778899AABBCCDDEEFF';
    for (const format of ['3', '4']) {
      const enc = (await posgate(['crypto', 'pinblock', 'encode', '--format', format, '--pin', '2580', '--pan', '4761739001010010', '--key', format === '4' ? key : '0123456789ABCDEFFEDCBA9876543210', '--json'])).json<{ block: string }>();
      const dec = await posgate(['crypto', 'pinblock', 'decode', '--format', format, '--block', enc.block, '--pan', '4761739001010010', '--key', format === '4' ? key : '0123456789ABCDEFFEDCBA9876543210', '--json']);
      expect(dec.json()).toEqual({ format: Number(format), pin: '2580' });
    }
  });
  it('refuses bad input with exit 2', async () => {
    expect((await posgate(['crypto', 'pinblock', 'encode', '--format', '2', '--pin', '1234', '--pan', '4111111111111111'])).stderr).toContain('format must be 0, 1, 3 or 4');
    expect((await posgate(['crypto', 'pinblock', 'encode', '--format', '0', '--pin', '12', '--pan', '4111111111111111'])).code).toBe(2);
    expect((await posgate(['crypto', 'pinblock', 'encode', '--format', '4', '--pin', '1234', '--pan', '4111111111111111'])).stderr).toContain('give --key');
    const wrong = await posgate(['crypto', 'pinblock', 'decode', '--format', '0', '--block', '23B72AC5781BA141', '--pan', '6224242900000121', '--key', '807A23AD32B36D457AE91FDF927570EA']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('PIN block does not decode');
  });
});

describe('posgate crypto mac', () => {
  it('computes the CUP ECB MAC of the §12.2 MAB', async () => {
    const mab = '0200302004C020C0981300000000000000123400000202100012336224242900000113D16A85D268D5897600333030303030303138393833313030353431313030303131353623B72AC5781BA1412610000000000000001422000001000600000330312000';
    const r = await posgate(['crypto', 'mac', '--alg', 'cup-ecb', '--key', '5BB5C72CD00B7338', '--data', mab.slice(0, -2), '--json']);
    expect(r.json()).toEqual({ alg: 'cup-ecb', mac: 'DD493AC3' });
  });
  it('computes ISO 9797-1 algorithm 3 and AES-CMAC', async () => {
    const m3 = await posgate(['crypto', 'mac', '--alg', 'iso9797-1-m3', '--key', '41414141414141414242424242424242', '--data', Buffer.from('hello world').toString('hex'), '--padding', '2', '--json']);
    expect(m3.json()).toEqual({ alg: 'iso9797-1-m3', mac: 'E16941032C3BC7D4' });
    const m1 = await posgate(['crypto', 'mac', '--alg', 'iso9797-1-m1', '--key', '0123456789ABCDEF', '--data', Buffer.from('7654321 Now is the time for ').toString('hex')]);
    expect(m1.stdout).toContain('F1D30F68');
    const cmac = await posgate(['crypto', 'mac', '--alg', 'aes-cmac', '--key', '2B7E151628AED2A6ABF7158809CF4F3C', '--data', '6BC1BEE22E409F96E93D7E117393172A', '--json']);
    expect(cmac.json()).toEqual({ alg: 'aes-cmac', mac: '070A16B46B4D4144F79BDD9DD04A287C' });
  });
  it('refuses an unknown algorithm and odd hex with exit 2', async () => {
    expect((await posgate(['crypto', 'mac', '--alg', 'md5', '--key', '00', '--data', '00'])).code).toBe(2);
    expect((await posgate(['crypto', 'mac', '--alg', 'cup-ecb', '--key', '5BB5C72CD00B7338', '--data', '123'])).code).toBe(2);
  });
});

describe('posgate crypto pvv, ibm3624, cvv', () => {
  it('pvv matches psec', async () => {
    const r = await posgate(['crypto', 'pvv', '--pvk', '0123456789ABCDEFFEDCBA9876543210', '--pan', '1122334455667788', '--pvki', '1', '--pin', '4524', '--json']);
    expect(r.json()).toEqual({ pvv: '8523' });
    expect((await posgate(['crypto', 'pvv', '--pvk', '0123456789ABCDEFFEDCBA9876543210', '--pan', '1122334455667788', '--pvki', '12', '--pin', '4524'])).code).toBe(2);
  });
  it('ibm3624 computes and verifies an offset', async () => {
    const base = ['crypto', 'ibm3624', '--pvk', '0123456789ABCDEFFEDCBA9876543210', '--pan', '1122334455667788', '--pin', '1234', '--dec-table', '1234567890123456', '--validation-data', '1122334455667788'];
    expect((await posgate([...base, '--json'])).json()).toMatchObject({ offset: '7710' });
    expect((await posgate([...base, '--offset', '7710', '--json'])).json()).toEqual({ valid: true, offset: '7710' });
    expect((await posgate([...base, '--offset', '7711', '--json'])).json()).toEqual({ valid: false, offset: '7711' });
    expect((await posgate([...base.slice(0, -2), '--validation-data', 'XYZ'])).code).toBe(2);
  });
  it('ibm3624 defaults the validation data to the PAN digits padded with F', async () => {
    const r = await posgate(['crypto', 'ibm3624', '--pvk', '0123456789ABCDEFFEDCBA9876543210', '--pan', '4000001234567899', '--pin', '1234', '--json']);
    expect(r.json()).toMatchObject({ validation_data: '000123456789FFFF', dec_table: '0123456789012345' });
  });
  it('cvv reproduces the Visa example', async () => {
    const r = await posgate(['crypto', 'cvv', '--cvk', '0123456789ABCDEFFEDCBA9876543210', '--pan', '4123456789012345', '--expiry', '8701', '--service-code', '101', '--json']);
    expect(r.json()).toEqual({ cvv: '561' });
    expect((await posgate(['crypto', 'cvv', '--cvk', '0123456789ABCDEFFEDCBA9876543210', '--pan', '4123456789012345', '--expiry', '87', '--service-code', '101'])).code).toBe(2);
  });
});

describe('posgate crypto dukpt', () => {
  it('derives TDES keys and decrypts the X9.24 PIN block', async () => {
    const r = await posgate(['crypto', 'dukpt', '--bdk', '0123456789ABCDEFFEDCBA9876543210', '--ksn', 'FFFF9876543210E00001', '--pin-block', '1B9C1845EB993A7A', '--pan', '4012345678909', '--json']);
    expect(r.json()).toEqual({
      alg: 'tdes',
      ksn: 'FFFF9876543210E00001',
      ipek: '6AC292FAA1315B4D858AB3A3D7D5933A',
      pin_key: '042666B49184CF5C68DE9628D0397B36',
      mac_key: '042666B4918430A368DE9628D03984C9',
      data_key: '448D3F076D8304036A55A3D7E0055A78',
      pin: '1234',
    });
  });
  it('derives AES keys', async () => {
    const r = await posgate(['crypto', 'dukpt', '--aes', '--bdk', 'FEDCBA9876543210F1F1F1F1F1F1F1F1', '--ksn', '123456789012345600000001', '--json']);
    expect(r.json()).toMatchObject({ alg: 'aes', ipek: '1273671EA26AC29AFA4D1084127652A1', pin_key: 'AF8CB133A78F8DC2D1359F18527593FB', mac_key: 'A2DC23DE6FDE0824A2BC321E08E4B8B7', data_key: 'A35C412EFD41FDB98B69797C02DCD08F' });
  });
  it('refuses a KSN of the wrong length', async () => {
    const r = await posgate(['crypto', 'dukpt', '--bdk', '0123456789ABCDEFFEDCBA9876543210', '--ksn', 'FFFF9876543210E000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--ksn must be 20 hex digits');
  });
});

describe('posgate crypto luhn and id-number', () => {
  it('luhn', async () => {
    expect((await posgate(['crypto', 'luhn', '6224242900000113', '--json'])).json()).toEqual({ valid: true, check_digit: '3' });
    expect((await posgate(['crypto', 'luhn', '6224242900000114'])).stdout).toContain('NOT valid (Luhn); the check digit should be 3');
    expect((await posgate(['crypto', 'luhn', '6224-2429'])).code).toBe(2);
  });
  it('id-number', async () => {
    expect((await posgate(['crypto', 'id-number', '11010519491231002X', '--json'])).json()).toEqual({ valid: true, birth_date: '1949-12-31', sex: 'female', region_code: '110105' });
    expect((await posgate(['crypto', 'id-number', '110105194912310021'])).stdout).toContain('the check character should be X');
    expect((await posgate(['crypto', 'id-number', '12345', '--json'])).json()).toEqual({ valid: false, problem: 'format' });
  });
});

describe('the installed binary', () => {
  it('runs, prints JSON and uses exit codes 0 and 2', () => {
    const ok = posgateBinary(['crypto', 'kcv', '--key', 'CA5D92598DCA48CE8A4C76361A9269E9', '--json']);
    expect(ok.code).toBe(0);
    expect(ok.json()).toMatchObject({ kcv: '43C6CC' });
    const bad = posgateBinary(['crypto', 'kcv', '--key', 'nothex']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('posgate: --key must be an even number of hex digits');
    const unknown = posgateBinary(['crypto', 'frobnicate']);
    expect(unknown.code).toBe(2);
  });
});
