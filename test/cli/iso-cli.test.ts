import { describe, expect, it } from 'vitest';
import { posgate } from './run-cli.js';

const SALE_REQUEST = '007760000300006031000102000200302004C020C0981300000000000000123400000202100012336224242900000113D16A85D268D5897600333030303030303138393833313030353431313030303131353623B72AC5781BA141261000000000000000142200000100060000033031204444343933414333';
const SIGN_IN_RESPONSE = '008D60000000036031000102000810003800010AC0001400000109300011210899990000313132313039333030303031303033303030303030313839383331303035343131303030310011000000010040006067' + '01EAD6A9AD51E51AA406E2C27FCFA98D0A74B8B651F9E9BACE9AE10000000000000000AB7153CA0EA367132D40724B393BC20B870B6536F31841DC';

describe('posgate iso decode', () => {
  it('prints every field with its name, sub-fields, TPDU and header', async () => {
    const r = await posgate(['iso', 'decode', '--dialect', 'cup', '--framed', SALE_REQUEST]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('TPDU    6000030000   id 60, destination 0003, source 0000');
    expect(r.stdout).toContain('processing request 0, sub-version 010200');
    expect(r.stdout).toMatch(/35 +track 2 data +6224242900000113D16A85D268D589760/);
    expect(r.stdout).toMatch(/60\.2 +batch number +000001/);
    expect(r.stdout).toContain('"DD493AC3"');
  });

  it('--json maps field numbers to strings or {value, sub-fields}', async () => {
    const j = (await posgate(['iso', 'decode', '--framed', '--json', SALE_REQUEST])).json<{ fields: Record<string, unknown>; mti: string; length: number }>();
    expect(j.mti).toBe('0200');
    expect(j.length).toBe(119);
    expect(j.fields['2']).toBeUndefined();
    expect(j.fields['35']).toBe('6224242900000113D16A85D268D589760');
    expect(j.fields['52']).toBe('23B72AC5781BA141');
    expect(j.fields['60']).toEqual({ value: '22000001000600', '60.1': '22', '60.2': '000001', '60.3': '000', '60.4': '6', '60.5': '0', '60.6': '0' });
    expect(j.fields['64']).toBe('4444343933414333');
  });

  it('decodes without LEN when not --framed, and reads stdin when no hex is given', async () => {
    const r = await posgate(['iso', 'decode', '--json'], SIGN_IN_RESPONSE.slice(4));
    expect(r.json()).toMatchObject({ mti: '0810', fields: { '39': '00', '37': '112109300001' } });
  });

  it('names the field and byte offset of a malformed frame, exit 2', async () => {
    const broken = SALE_REQUEST.slice(0, 0x23 * 2) + 'AB' + SALE_REQUEST.slice(0x24 * 2); // field 22 → non-BCD
    const r = await posgate(['iso', 'decode', '--framed', broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('field 22: invalid bcd at byte 35');
    const j = await posgate(['iso', 'decode', '--framed', '--json', SALE_REQUEST.slice(0, -2)]);
    expect(j.code).toBe(2);
    expect(j.json()).toMatchObject({ error: { code: 'truncated' } });
    expect((await posgate(['iso', 'decode', 'XYZ'])).code).toBe(2);
    expect((await posgate(['iso', 'decode', '--dialect', 'visa', SALE_REQUEST])).code).toBe(2);
  });
});

describe('posgate iso encode', () => {
  it('encoding what decoding printed gives back the same bytes, and decoding that gives the same JSON', async () => {
    for (const frame of [SALE_REQUEST, SIGN_IN_RESPONSE]) {
      const decoded = await posgate(['iso', 'decode', '--framed', '--json', frame]);
      const encoded = await posgate(['iso', 'encode', '--framed'], decoded.stdout);
      expect(encoded.stdout.trim()).toBe(frame);
      const again = await posgate(['iso', 'decode', '--framed', '--json', encoded.stdout.trim()]);
      expect(again.json()).toEqual(decoded.json());
    }
  });

  it('encodes an iso87ascii message with a secondary bitmap from JSON', async () => {
    const input = { mti: '0800', fields: { '7': '1122093000', '11': '000001', '70': '301' } };
    const encoded = await posgate(['iso', 'encode', '--dialect', 'iso87ascii'], JSON.stringify(input));
    expect(Buffer.from(encoded.stdout.trim(), 'hex').toString('latin1')).toBe('0800' + '8220000000000000' + '0400000000000000' + '1122093000' + '000001' + '301');
    const decoded = await posgate(['iso', 'decode', '--dialect', 'iso87ascii', '--json', encoded.stdout.trim()]);
    expect(decoded.json()).toMatchObject({ ...input, bitmap: '82200000000000000400000000000000' });
  });

  it('encodes field 55 given only as TLVs', async () => {
    const input = { mti: '0200', fields: { '55': { tlv: [{ tag: '9F26', value: '0102030405060708' }, { tag: '9F27', value: '80' }] } } };
    const encoded = await posgate(['iso', 'encode', '--json'], JSON.stringify(input));
    const decoded = await posgate(['iso', 'decode', '--json', encoded.json<{ hex: string }>().hex]);
    expect(decoded.json<{ fields: Record<string, { value: string; tlv: unknown[] }> }>().fields['55']!.value).toBe('9F260801020304050607089F270180');
  });

  it('refuses bad JSON and bad field values with exit 2', async () => {
    expect((await posgate(['iso', 'encode'], '{nope')).stderr).toContain('not JSON');
    const bad = await posgate(['iso', 'encode', '--json'], JSON.stringify({ mti: '0200', fields: { '4': '12AB' } }));
    expect(bad.code).toBe(2);
    expect(bad.json()).toMatchObject({ error: { code: 'invalid_value' } });
    expect((await posgate(['iso', 'encode'], JSON.stringify({ mti: '0200', fields: { '5': '1' } }))).code).toBe(2);
    expect((await posgate(['iso', 'encode'], JSON.stringify({ mti: '02000', fields: {} }))).code).toBe(2);
  });
});
