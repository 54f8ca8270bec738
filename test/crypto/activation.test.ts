import { createECDH } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { activationAad, activationInfo, activationKey, buildActivationRequest, openTmk, parseActivationRequest, sealTmk, tdesKcv } from '../../src/crypto/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const up = (b: Buffer) => b.toString('hex').toUpperCase();

// shared/protocol/terminal-iso8583.md §10.1 test vector (key pairs of RFC 5903 §8.1).
describe('activation and remote TMK loading (protocol §10.1 vector)', () => {
  const terminal = createECDH('prime256v1');
  terminal.setPrivateKey(hex('C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433'));
  const host = createECDH('prime256v1');
  host.setPrivateKey(hex('C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53'));
  const request62 = buildActivationRequest('PGSIM-0001', '482915370264', terminal.getPublicKey());

  it('builds the request field 62', () => {
    expect(up(request62)).toBe(
      '010A504753494D2D303030310C34383239313533373032363404DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C37725811805271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3',
    );
    expect(parseActivationRequest(request62)).toMatchObject({ serial: 'PGSIM-0001', code: '482915370264' });
  });

  it('derives Z, K and seals the TMK exactly as the vector', () => {
    const z = host.computeSecret(terminal.getPublicKey());
    expect(up(z)).toBe('D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE');
    const info = activationInfo('30000001', '898310054110001', request62, host.getPublicKey());
    expect(info.length).toBe(192);
    const k = activationKey(z, info);
    expect(up(k)).toBe('7AF5B8D2A56568C45E8F585B7BD5C1CD68CD5EFDDFC2C4F2D84861643349AC5B');
    const tmk = hex('CA5D92598DCA48CE8A4C76361A9269E9');
    const { ciphertext, tag } = sealTmk(k, hex('000102030405060708090A0B'), tmk, activationAad('30000001', '898310054110001'));
    expect(up(ciphertext)).toBe('58D430CCB859A0A53ABFA9C77DF77E44');
    expect(up(tag)).toBe('977CCFF9B90A563382C74A108C1579EE');
    expect(up(tdesKcv(tmk, 4))).toBe('43C6CCCB');
    const opened = openTmk(activationKey(terminal.computeSecret(host.getPublicKey()), info), hex('000102030405060708090A0B'), ciphertext, tag, activationAad('30000001', '898310054110001'));
    expect(opened && up(opened)).toBe('CA5D92598DCA48CE8A4C76361A9269E9');
    tag[0]! ^= 1;
    expect(openTmk(k, hex('000102030405060708090A0B'), ciphertext, tag, activationAad('30000001', '898310054110001'))).toBeNull();
  });

  it('refuses malformed request fields', () => {
    expect(parseActivationRequest(Buffer.from('02', 'hex'))).toBeNull();
    expect(parseActivationRequest(request62.subarray(0, 50))).toBeNull();
    const badCode = Buffer.from(request62);
    badCode[13] = 0x41;
    expect(parseActivationRequest(badCode)).toBeNull();
  });
});
