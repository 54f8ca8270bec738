import { describe, expect, it } from 'vitest';
import { cup, decodeTlv, encodeTlv, Iso8583Error, IsoMessage, packCupFrame, unpackCupFrame, messageToJson, messageFromJson } from '../../src/iso8583/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Worked examples of shared/protocol/terminal-iso8583.md.
const SIGN_IN_REQUEST = `003C6000030000603100010200080000200000 00C0001200000133303030303030313839383331303035343131303030310011000000000040000330 3120`;
const SIGN_IN_RESPONSE = `008D600000000360310001020008100038000 10AC0001400000109300011210899990000313132313039333030303031303033303030303030313839383331
  303035343131303030310011000000010040006067 01EAD6A9AD51E51AA406E2C27FCFA98D0A74B8B651F9E9BACE9AE10000000000000000AB7153CA0EA367132D40724B393BC20B870B6536F31841DC`;
const SALE_REQUEST = `007760000300006031000102000200302004C020C0981300000000000000123400000202100012336224242900000113D16A
85D268D5897600333030303030303138393833313030353431313030303131353623B72AC5781BA141261000000000000000
142200000100060000033031204444343933414333`;
const SALE_RESPONSE = `008960000000036031000102000210303A00810ED080130000000000000012340000020935121121112100089999000031
313231303933353030303233383437353630303330303030303031383938333130303534313130303031223031303230
303030202020393939393030303020202031353600142200000100060000034355503435363738464642`;
const OPERATOR_VERIFY = `0054600003000060310001020008200020000000C018130000033330303030303031383938333130303534313130
303031DFB27320502A595C2600000000000000001100000001902000033030203433303634313039`;
const VECTOR_A = `007F600003000060321032007202003020048000C08015000000000000001234000002030099303030303030303139353237
313831383232313738373531353600192600000100060000000000435F01123238343431323334353637383930313233345F
03063136303033365F04063230303832365C0230314233413039324145`;

describe('cup dialect: the protocol worked examples', () => {
  it('§12.1 sign-in request decodes field by field and re-encodes to the same bytes', () => {
    const bytes = hex(SIGN_IN_REQUEST);
    const frame = unpackCupFrame(cup, bytes, true);
    expect(frame.tpdu).toEqual({ id: '60', destination: '0003', source: '0000' });
    expect(frame.header).toEqual({ applicationType: '60', specVersion: '31', terminalStatus: '0', processingRequest: '0', subVersion: '010200' });
    const m = frame.message;
    expect(m.mti).toBe('0800');
    expect(m.fieldNumbers()).toEqual([11, 41, 42, 60, 63]);
    expect(m.get(11)).toBe('000001');
    expect(m.get(41)).toBe('30000001');
    expect(m.get(42)).toBe('898310054110001');
    expect(m.get(60)).toBe('00000000004');
    expect(m.get(63)).toBe('01 ');
    expect(packCupFrame(cup, frame, true).equals(bytes)).toBe(true);
  });

  it('§12.1 sign-in response carries the working keys in field 62 and the batch in 60.2', () => {
    const bytes = hex(SIGN_IN_RESPONSE);
    const { message: m, tpdu } = unpackCupFrame(cup, bytes, true);
    expect(tpdu.destination).toBe('0000');
    expect(m.mti).toBe('0810');
    expect(m.fieldNumbers()).toEqual([11, 12, 13, 32, 37, 39, 41, 42, 60, 62]);
    expect(m.get(32)).toBe('99990000');
    expect(m.get(37)).toBe('112109300001');
    expect(m.get(39)).toBe('00');
    expect(m.bytes(62)!.length).toBe(60);
    expect(messageToJson(cup, m).fields['60']).toEqual({ value: '00000001004', '60.1': '00', '60.2': '000001', '60.3': '004' });
    expect(packCupFrame(cup, unpackCupFrame(cup, bytes, true), true).equals(bytes)).toBe(true);
  });

  it('§12.2 sale request: left-aligned field 22, encrypted track 2, PIN block, MAC', () => {
    const bytes = hex(SALE_REQUEST);
    const m = unpackCupFrame(cup, bytes, true).message;
    expect(m.fieldNumbers()).toEqual([3, 4, 11, 22, 25, 26, 35, 41, 42, 49, 52, 53, 60, 63, 64]);
    expect(m.get(4)).toBe('000000001234');
    expect(m.get(22)).toBe('021');
    // Bytes 8–15 of the packed track are enciphered under the TDK (§6.6); the last byte stays clear.
    expect(m.get(35)).toBe('6224242900000113D16A85D268D589760');
    expect(m.bytes(52)!.toString('hex').toUpperCase()).toBe('23B72AC5781BA141');
    expect(m.get(53)).toBe('2610000000000000');
    expect(m.get(60)).toBe('22000001000600');
    expect(m.bytes(64)!.toString('ascii')).toBe('DD493AC3');
    expect(packCupFrame(cup, unpackCupFrame(cup, bytes, true), true).equals(bytes)).toBe(true);
  });

  it('§12.3 sale response with fields 15, 38 and 44', () => {
    const bytes = hex(SALE_RESPONSE);
    const m = unpackCupFrame(cup, bytes, true).message;
    expect(m.get(38)).toBe('384756');
    expect(m.get(44)).toBe('01020000   99990000   ');
    expect(messageToJson(cup, m).fields['44']).toEqual({ value: '01020000   99990000   ', '44.1': '01020000   ', '44.2': '99990000   ' });
    expect(m.get(63)).toBe('CUP');
    expect(packCupFrame(cup, unpackCupFrame(cup, bytes, true), true).equals(bytes)).toBe(true);
  });

  it('§10.2 operator verification frame', () => {
    const bytes = hex(OPERATOR_VERIFY);
    const m = unpackCupFrame(cup, bytes, true).message;
    expect(m.mti).toBe('0820');
    expect(m.get(60)).toBe('00000001902');
    expect(m.get(63)).toBe('00 ');
    expect(packCupFrame(cup, unpackCupFrame(cup, bytes, true), true).equals(bytes)).toBe(true);
  });

  it('§6.3 vector A: a real acquirer frame with fields 60 (19 digits) and 62', () => {
    const bytes = hex(VECTOR_A);
    const m = unpackCupFrame(cup, bytes, true).message;
    expect(m.get(60)).toBe('2600000100060000000');
    expect(packCupFrame(cup, unpackCupFrame(cup, bytes, true), true).equals(bytes)).toBe(true);
  });

  it('decodes unframed input starting at the TPDU', () => {
    const bytes = hex(SALE_REQUEST).subarray(2);
    expect(unpackCupFrame(cup, bytes, false).message.mti).toBe('0200');
  });

  it('JSON round trip: encode(decode(frame)) is the same frame', () => {
    const bytes = hex(SALE_RESPONSE);
    const frame = unpackCupFrame(cup, bytes, true);
    const json = JSON.parse(JSON.stringify(messageToJson(cup, frame.message)));
    const again = messageFromJson(cup, json);
    expect(packCupFrame(cup, { ...frame, message: again }, true).equals(bytes)).toBe(true);
  });
});

describe('cup dialect: field 55 and BER-TLV', () => {
  it('packs and decodes EMV data', () => {
    const icc = encodeTlv(
      [
        ['9F26', 'A1B2C3D4E5F60708'], ['9F27', '80'], ['9F10', '07010103A0A802010A010000000000'], ['9F37', '1A2B3C4D'],
        ['9F36', '0001'], ['95', '0000000000'], ['9A', '261121'], ['9C', '00'], ['9F02', '000000001234'], ['5F2A', '0156'],
        ['82', '7C00'], ['9F1A', '0156'], ['9F33', 'E0F1C8'], ['9F34', '420300'], ['9F35', '22'], ['9F1E', '3132333435363738'],
        ['84', 'A0000003330101'], ['9F09', '0030'], ['9F41', '00000003'], ['5F34', '01'],
      ].map(([tag, value]) => ({ tag: tag!, value: hex(value!) })),
    );
    const m = new IsoMessage('0200', { 3: '000000', 4: '000000001234', 11: '000003', 22: '071', 25: '00', 41: '30000001', 42: '898310054110001', 49: '156', 55: icc, 60: '22000001000600' });
    const back = cup.unpack(cup.pack(m));
    expect(back.bytes(55)!.equals(icc)).toBe(true);
    const tags = decodeTlv(back.bytes(55)!).map((t) => t.tag);
    expect(tags).toContain('9F26');
    expect(tags).toContain('84');
    const json = messageToJson(cup, back).fields['55'] as { tlv: { tag: string; name?: string }[] };
    expect(json.tlv.find((t) => t.tag === '9F26')?.name).toBe('application cryptogram');
  });

  it('reports a truncated TLV with its offset', () => {
    expect(() => decodeTlv(hex('9F2608A1B2'), 55, 100)).toThrowError(expect.objectContaining({ code: 'invalid_tlv', field: 55, offset: 103 }));
  });

  it('decodes constructed templates (71 issuer script) into children', () => {
    const [script] = decodeTlv(hex('710A9F180400000001860100'));
    expect(script!.children!.map((c) => c.tag)).toEqual(['9F18', '86']);
  });

  it('rejects indefinite lengths and over-deep nesting', () => {
    expect(() => decodeTlv(hex('9F2680'))).toThrow(Iso8583Error);
    let nested = hex('7000');
    for (let i = 0; i < 6; i++) nested = Buffer.concat([hex('70'), Buffer.from([nested.length]), nested]);
    expect(() => decodeTlv(nested)).toThrow(/nested at most/);
  });
});
