import { mkdtempSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Algorithm, hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { beforeEach, describe, expect, it } from 'vitest';
import { applicationCryptogram, applicationCryptogramSessionKey, arpcMethod1, decodeClearPinBlock, deriveIccMasterKey, pinBlockAccount, tdesEcb } from '../../src/crypto/index.js';
import { HsmError, lmkFromBytes, loadLmk, SoftwareHsm, type KeyBlock } from '../../src/hsm/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const up = (b: Buffer) => b.toString('hex').toUpperCase();

// Keys of shared/protocol/terminal-iso8583.md §6.2, §12.
const TMK = 'CA5D92598DCA48CE8A4C76361A9269E9';
const PIK = '807A23AD32B36D457AE91FDF927570EA';
const MAK = '5BB5C72CD00B7338';
const TDK = '3E0B7A5D2C1F4986A7D3580E6B2C8F15';
const SALE_REQUEST = hex(`007760000300006031000102000200302004C020C0981300000000000000123400000202100012336224242900000113D16A
85D268D5897600333030303030303138393833313030353431313030303131353623B72AC5781BA141261000000000000000
142200000100060000033031204444343933414333`);

let hsm: SoftwareHsm;
let tmk: KeyBlock;
beforeEach(async () => {
  hsm = new SoftwareHsm(lmkFromBytes(randomBytes(32)));
  tmk = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'tmk' }, hex(TMK), '43C6CC')).key;
});

describe('key custody', () => {
  it('imports the §6.2 working keys from field 62 under the TMK and checks their KCVs', async () => {
    const pik = await hsm.importKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, tmk, hex('6701EAD6A9AD51E51AA406E2C27FCFA9'), '8D0A74B8');
    const mak = await hsm.importKey({ algorithm: 'tdes', length: 8, usage: 'mac' }, tmk, hex('B651F9E9BACE9AE1'), 'AB7153CA');
    expect(pik.kcv).toBe('8D0A74');
    expect(await hsm.keyCheckValue(mak.key, { length: 4 })).toBe('AB7153CA');
  });

  it('refuses a key whose check value does not match', async () => {
    await expect(hsm.importKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, tmk, hex('6701EAD6A9AD51E51AA406E2C27FCFA9'), '000000')).rejects.toMatchObject({ code: 'kcv_mismatch' });
  });

  it('exports a working key under the TMK as the 0810 carries it', async () => {
    const pik = await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, hex(PIK));
    const out = await hsm.exportKey(pik.key, tmk, 4);
    expect(up(out.wrapped)).toBe('6701EAD6A9AD51E51AA406E2C27FCFA9');
    expect(out.kcv).toBe('8D0A74B8');
  });

  it('generated keys follow the §6.1 rules and round-trip through export and import', async () => {
    const made = await hsm.generateKey({ algorithm: 'tdes', length: 16, usage: 'pin' });
    const { wrapped, kcv } = await hsm.exportKey(made.key, tmk);
    const again = await hsm.importKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, tmk, wrapped, kcv);
    expect(again.kcv).toBe(made.kcv);
  });

  it('wraps AES keys under an AES KEK with AES key wrap', async () => {
    const kek = await hsm.generateKey({ algorithm: 'aes', length: 32, usage: 'kek' });
    const key = await hsm.generateKey({ algorithm: 'aes', length: 16, usage: 'pin' });
    const { wrapped } = await hsm.exportKey(key.key, kek.key);
    expect(wrapped.length).toBe(24);
    expect((await hsm.importKey({ algorithm: 'aes', length: 16, usage: 'pin' }, kek.key, wrapped)).kcv).toBe(key.kcv);
    wrapped[3]! ^= 1;
    await expect(hsm.importKey({ algorithm: 'aes', length: 16, usage: 'pin' }, kek.key, wrapped)).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('never exports verification or derivation keys', async () => {
    const pvk = await hsm.generateKey({ algorithm: 'tdes', length: 16, usage: 'pvk' });
    await expect(hsm.exportKey(pvk.key, tmk)).rejects.toBeInstanceOf(HsmError);
  });

  it('refuses a key block made under another LMK, and a tampered one', async () => {
    const other = new SoftwareHsm(lmkFromBytes(randomBytes(32)));
    await expect(other.keyCheckValue(tmk)).rejects.toMatchObject({ code: 'wrong_lmk' });
    const fresh = new SoftwareHsm(lmkFromBytes(Buffer.alloc(32, 1)));
    const block = (await fresh.generateKey({ algorithm: 'tdes', length: 16, usage: 'mac' })).key;
    const flipped = (block.slice(0, 40) + (block[40] === 'A' ? 'B' : 'A') + block.slice(41)) as KeyBlock;
    await expect(fresh.keyCheckValue(flipped)).rejects.toMatchObject({ code: 'key_block_invalid' });
    await expect(hsm.keyCheckValue('not a key' as KeyBlock)).rejects.toMatchObject({ code: 'key_block_invalid' });
  });

  it('enforces key usage: a PIN key cannot compute MACs', async () => {
    const pik = await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, hex(PIK));
    await expect(hsm.generateMac(pik.key, 'cup-ecb', Buffer.from('x'))).rejects.toMatchObject({ code: 'key_usage_mismatch' });
  });

  it('shows no key material through inspect or JSON', async () => {
    await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, hex(PIK));
    const shown = inspect(hsm, { depth: 10, showHidden: true }) + JSON.stringify(hsm);
    expect(shown).not.toMatch(/807A23AD|CA5D9259/i);
    expect(shown).toContain(hsm.lmkId);
  });
});

describe('MACs with keys held in the HSM', () => {
  it('verifies the §12.2 sale request MAC and refuses a forged one', async () => {
    const mak = (await hsm.importClearKey({ algorithm: 'tdes', length: 8, usage: 'mac' }, hex(MAK))).key;
    const mab = SALE_REQUEST.subarray(13, SALE_REQUEST.length - 8);
    const mac = SALE_REQUEST.subarray(SALE_REQUEST.length - 8);
    expect(await hsm.verifyMac(mak, 'cup-ecb', mab, mac)).toBe(true);
    expect(await hsm.verifyMac(mak, 'cup-ecb', mab, Buffer.from('DD493AC4'))).toBe(false);
    expect(await hsm.verifyMac(mak, 'cup-ecb', mab, Buffer.from('dd493ac3'))).toBe(false); // §6.3: comparison is exact
    expect(await hsm.verifyMac(mak, 'cup-ecb', mab, Buffer.alloc(0))).toBe(false);
  });

  it('computes the ANSI X9.19 retail MAC and AES-CMAC', async () => {
    const retail = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'mac' }, Buffer.from('AAAAAAAABBBBBBBB'))).key;
    expect(up(await hsm.generateMac(retail, 'iso9797-1-m3', Buffer.from('hello world'), 2))).toBe('E16941032C3BC7D4');
    const aes = (await hsm.importClearKey({ algorithm: 'aes', length: 16, usage: 'mac' }, hex('2B7E151628AED2A6ABF7158809CF4F3C'))).key;
    expect(up(await hsm.generateMac(aes, 'aes-cmac', Buffer.alloc(0)))).toBe('BB1D6929E95937287FA37D129B756746');
  });
});

describe('PINs never leave in clear', () => {
  const pan = '6224242900000113';
  let pik: KeyBlock;
  let pvk: KeyBlock;
  beforeEach(async () => {
    pik = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, hex(PIK))).key;
    pvk = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pvk' }, hex('0123456789ABCDEFFEDCBA9876543210'))).key;
  });

  it('verifies a card PIN block against the card PVV', async () => {
    const pvv = await hsm.issuePvv(pan, '123456', { pvk, pvki: '1' });
    const input = { pan, block: hex('23B72AC5781BA141'), under: { key: pik, format: 0 as const } };
    expect(await hsm.verifyPvv(input, { pvk, pvki: '1', pvv })).toBe(true);
    expect(await hsm.generatePvv(input, { pvk, pvki: '1' })).toBe(pvv);
    const wrongPin = await hsm.issuePvv(pan, '654321', { pvk, pvki: '1' });
    expect(await hsm.verifyPvv(input, { pvk, pvki: '1', pvv: wrongPin })).toBe(wrongPin === pvv);
  });

  it('answers pin_block_invalid (→ 99) for a block that does not decode under the PIK', async () => {
    const input = { pan, block: hex('0000000000000000'), under: { key: pik, format: 0 as const } };
    await expect(hsm.verifyPvv(input, { pvk, pvki: '1', pvv: '1234' })).rejects.toMatchObject({ code: 'pin_block_invalid' });
  });

  it('translates format 0 under the PIK to format 4 under an AES zone key and back', async () => {
    const zpk = (await hsm.generateKey({ algorithm: 'aes', length: 16, usage: 'pin' })).key;
    const input = { pan, block: hex('23B72AC5781BA141'), under: { key: pik, format: 0 as const } };
    const f4 = await hsm.translatePin(input, { key: zpk, format: 4 });
    expect(f4.length).toBe(16);
    const back = await hsm.translatePin({ pan, block: f4, under: { key: zpk, format: 4 } }, { key: pik, format: 0 });
    expect(up(back)).toBe('23B72AC5781BA141');
  });

  it('verifies operator password blocks bound to the terminal ID (§10.2)', async () => {
    const zpk = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, hex('0123456789ABCDEFFEDCBA9876543210'))).key;
    const out = await hsm.translatePin({ account: '000030000001', block: hex('DFB27320502A595C'), under: { key: pik, format: 0 } }, { key: zpk, format: 0 });
    expect(decodeClearPinBlock(0, tdesEcb(hex('0123456789ABCDEFFEDCBA9876543210')).decrypt(out), '000030000001')).toBe('123456');
  });

  it('generates and verifies IBM 3624 offsets from a PIN block', async () => {
    const input = { pan, block: hex('23B72AC5781BA141'), under: { key: pik, format: 0 as const } };
    const offset = await hsm.generateIbm3624Offset(input, { pvk });
    expect(offset).toMatch(/^[0-9]{6}$/);
    expect(await hsm.verifyIbm3624(input, { pvk, offset })).toBe(true);
    const other = offset.replace(/^./, (d) => String((Number(d) + 1) % 10));
    expect(await hsm.verifyIbm3624(input, { pvk, offset: other })).toBe(false);
  });

  it('re-enciphers a TDES DUKPT PIN block (X9.24-1 A.4.2, counter 1) under a zone key', async () => {
    const bdk = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'bdk' }, hex('0123456789ABCDEFFEDCBA9876543210'))).key;
    const zpkClear = hex('0123456789ABCDEFFEDCBA9876543210');
    const zpk = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, zpkClear)).key;
    const out = await hsm.translateDukptPin(bdk, hex('FFFF9876543210E00001'), { pan: '4012345678909', block: hex('1B9C1845EB993A7A') }, { key: zpk, format: 0 });
    expect(decodeClearPinBlock(0, tdesEcb(zpkClear).decrypt(out), pinBlockAccount('4012345678909'))).toBe('1234');
  });
});

describe('card verification values and data keys', () => {
  it('generates and verifies the Visa CVV example', async () => {
    const cvk = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'cvk' }, hex('0123456789ABCDEFFEDCBA9876543210'))).key;
    const card = { pan: '4123456789012345', expiry: '8701', serviceCode: '101' };
    expect(await hsm.generateCvv(cvk, card)).toBe('561');
    expect(await hsm.verifyCvv(cvk, card, '561')).toBe(true);
    expect(await hsm.verifyCvv(cvk, card, '562')).toBe(false);
  });

  it('checks a chip card\'s ARQC under the issuer master key and answers it with an ARPC', async () => {
    const imkClear = hex('0123456789ABCDEFFEDCBA9876543210');
    const imk = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'imk-ac' }, imkClear)).key;
    // the card side: its own key (personalised from the same IMK) and the session key of ATC 0007
    const cardKey = deriveIccMasterKey(imkClear, '6224242900000113', '01');
    const atc = hex('0007');
    const data = hex('000000001000 000000000000 0156 0000000000 0156 261122 00 11223344 7C00 0007 03A0A802');
    const arqc = applicationCryptogram(applicationCryptogramSessionKey(cardKey, atc), data);
    const chip = { pan: '6224242900000113', psn: '01', atc, data, arqc };
    expect(await hsm.verifyArqc(imk, chip)).toBe(true);
    expect(await hsm.verifyArqc(imk, { ...chip, data: hex('000000002000 000000000000 0156 0000000000 0156 261122 00 11223344 7C00 0007 03A0A802') })).toBe(false);
    expect(await hsm.verifyArqc(imk, { ...chip, psn: '02' })).toBe(false);
    expect(await hsm.verifyArqc(imk, { ...chip, arqc: arqc.subarray(0, 4) })).toBe(false);
    const arpc = await hsm.generateArpc(imk, chip, Buffer.from('00', 'latin1'));
    expect(arpc).toEqual(arpcMethod1(applicationCryptogramSessionKey(cardKey, atc), arqc, Buffer.from('00', 'latin1')));
    // an issuer master key stays in the HSM, and no other key stands in for it
    const kek = (await hsm.generateKey({ algorithm: 'tdes', length: 16, usage: 'kek' })).key;
    await expect(hsm.exportKey(imk, kek)).rejects.toThrow(HsmError);
    const cvk = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'cvk' }, imkClear)).key;
    await expect(hsm.verifyArqc(cvk, chip)).rejects.toThrow(HsmError);
  });

  it('deciphers the §12.2 track bytes with the TDK', async () => {
    const tdk = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'data' }, hex(TDK))).key;
    expect(up(await hsm.decryptData(tdk, hex('D16A85D268D58976')))).toBe('D281210100000000');
  });
});

describe('the LMK', () => {
  it('is created once in a 0600 key file and read back the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'posgate-lmk-'));
    const file = join(dir, 'data', 'lmk.key');
    const a = loadLmk({ file, create: true, env: {} });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadLmk({ file, env: {} }).id).toBe(a.id);
  });

  it('comes from POSGATE_LMK when set, and a bad value is refused', () => {
    const hexKey = 'AB'.repeat(32);
    expect(loadLmk({ env: { POSGATE_LMK: hexKey } }).id).toBe(lmkFromBytes(Buffer.from(hexKey, 'hex')).id);
    expect(() => loadLmk({ env: { POSGATE_LMK: 'ABC' } })).toThrow(/64 hex digits/);
  });

  it('refuses a key file others can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'posgate-lmk-'));
    const file = join(dir, 'lmk.key');
    writeFileSync(file, 'AB'.repeat(32));
    chmodSync(file, 0o644);
    expect(() => loadLmk({ file, env: {} })).toThrow(/readable by others/);
  });

  it('does not show its bytes', () => {
    const lmk = lmkFromBytes(Buffer.alloc(32, 0x5a));
    expect(JSON.stringify(lmk)).not.toContain('5a5a');
    expect(inspect(lmk)).toBe(`Lmk(${lmk.id})`);
  });
});

describe('PANs at rest and operator passwords', () => {
  it('protects a PAN as keyed hash, ciphertext and masked form', () => {
    const a = hsm.protectPan('6224242900000113');
    const b = hsm.protectPan('6224242900000113');
    expect(a.masked).toBe('622424******0113');
    expect(a.hash).toBe(b.hash);
    expect(a.hash).toBe(hsm.panHash('6224242900000113'));
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(a.ciphertext + a.hash).not.toContain('6224242900000113');
    expect(new SoftwareHsm(lmkFromBytes(randomBytes(32))).panHash('6224242900000113')).not.toBe(a.hash);
  });

  it('verifies the §10.2 operator password block against an argon2id hash', async () => {
    const pik = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, hex(PIK))).key;
    const hash = await hsm.hashPassword('123456');
    expect(hash).toMatch(/^k1\$\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const input = { account: '000030000001', block: hex('DFB27320502A595C'), under: { key: pik, format: 0 as const } };
    expect(await hsm.verifyPasswordBlock(input, hash)).toEqual({ ok: true });
    expect(await hsm.verifyPasswordBlock(input, await hsm.hashPassword('123457'))).toEqual({ ok: false });
    // a right password under a hash made before keying: its keyed hash comes back, to replace it
    const legacy = await argon2Hash('123456', { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    const verdict = await hsm.verifyPasswordBlock(input, legacy);
    expect(verdict.ok).toBe(true);
    expect(verdict.rehashed).toMatch(/^k1\$/);
    expect(await hsm.verifyPassword('123456', verdict.rehashed!)).toBe(true);
    expect(await hsm.verifyPasswordBlock(input, await argon2Hash('654321'))).toEqual({ ok: false });
  });

  it('keys password hashes with the LMK: a copied hash verifies nowhere else, and no offline guess finds a 4-digit password', async () => {
    const hash = await hsm.hashPassword('2580');
    expect(await hsm.verifyPassword('2580', hash)).toBe(true);
    const elsewhere = new SoftwareHsm(lmkFromBytes(randomBytes(32)));
    expect(await elsewhere.verifyPassword('2580', hash)).toBe(false);
    // what an attacker holding only the database can do: argon2id over every 4-digit password, as stored
    const phc = hash.slice('k1$'.length);
    const tried = await Promise.all(['2580', '0000', '1397'].map((guess) => argon2Verify(phc, guess)));
    expect(tried).toEqual([false, false, false]);
    // a hash made before keying (plain argon2id) still verifies, until the password changes
    const legacy = await argon2Hash('2580', { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(await hsm.verifyPassword('2580', legacy)).toBe(true);
    expect(await hsm.verifyPassword('2581', legacy)).toBe(false);
    expect(await hsm.verifyPassword('2580', 'k1$not a hash')).toBe(false);
  });

  it('takes the §10.3 new password block only when it follows the rules', async () => {
    const pik = (await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'pin' }, hex(PIK))).key;
    const block = (pin: string) => tdesEcb(hex(PIK)).encrypt(Buffer.from(xorBlock(pin), 'hex'));
    const xorBlock = (pin: string) => {
      const field = Buffer.from(`0${pin.length}${pin}`.padEnd(16, 'F'), 'hex');
      const account = Buffer.from('0000000030000001', 'hex');
      return Buffer.from(field.map((b, i) => b ^ account[i]!)).toString('hex');
    };
    expect(up(block('740285'))).toBe('C239A2AE7CFF2C3F');
    const under = { key: pik, format: 0 as const };
    const current = await hsm.hashPassword('123456');
    const ok = await hsm.newPasswordFromBlock({ account: '000030000001', block: hex('C239A2AE7CFF2C3F'), under }, { length: 6, previousHashes: [current] });
    expect(ok.ok).toBe(true);
    const reuse = await hsm.newPasswordFromBlock({ account: '000030000001', block: block('123456'), under }, { length: 6, previousHashes: [current] });
    expect(reuse).toEqual({ ok: false, reason: 'weak' });
    const old = await hsm.hashPassword('740285');
    expect(await hsm.newPasswordFromBlock({ account: '000030000001', block: block('740285'), under }, { length: 6, previousHashes: [current, old] })).toEqual({ ok: false, reason: 'reused' });
    expect(await hsm.newPasswordFromBlock({ account: '000030000001', block: block('7402'), under }, { length: 6, previousHashes: [] })).toEqual({ ok: false, reason: 'length' });
  });
});
