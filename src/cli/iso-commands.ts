import { Command, Option } from 'commander';
import {
  DIALECTS,
  decodeTlv,
  emvTagName,
  fieldValueText,
  Iso8583Error,
  messageFromJson,
  messageToJson,
  packCupFrame,
  unpackCupFrame,
  type CupHeader,
  type Dialect,
  type IsoMessage,
  type Tlv,
  type Tpdu,
} from '../iso8583/index.js';
import { emit, UsageError, type Io } from './output.js';

type Run = (action: () => Promise<void> | void, json: () => boolean) => Promise<void>;

interface DecodedJson {
  dialect: string;
  length?: number;
  tpdu?: { value: string; id: string; destination: string; source: string };
  header?: { value: string; application_type: string; spec_version: string; terminal_status: string; processing_request: string; sub_version: string };
  mti: string;
  bitmap: string;
  fields: ReturnType<typeof messageToJson>['fields'];
}

function dialectOf(name: string): Dialect {
  const dialect = DIALECTS[name];
  if (!dialect) throw new UsageError('unknown_dialect', `unknown dialect ${name}; use ${Object.keys(DIALECTS).join(' or ')}`);
  return dialect;
}

function parseFrameHex(text: string): Buffer {
  const hex = text.replace(/\s+/g, '');
  if (!/^([0-9A-Fa-f]{2})+$/.test(hex)) throw new UsageError('invalid_hex', 'the message must be an even number of hex digits');
  return Buffer.from(hex, 'hex');
}

function bitmapHex(message: IsoMessage): string {
  const numbers = message.fieldNumbers();
  const secondary = numbers.some((n) => n > 64);
  const bitmap = Buffer.alloc(secondary ? 16 : 8);
  if (secondary) bitmap[0]! |= 0x80;
  for (const n of numbers) bitmap[(n - 1) >> 3]! |= 0x80 >> ((n - 1) & 7);
  return bitmap.toString('hex').toUpperCase();
}

function decode(dialect: Dialect, bytes: Buffer, framed: boolean): DecodedJson {
  if (dialect.spec.name === 'cup') {
    const frame = unpackCupFrame(dialect, bytes, framed);
    const h = frame.header;
    return {
      dialect: 'cup',
      ...(framed ? { length: bytes.length - 2 } : {}),
      tpdu: { value: frame.tpdu.id + frame.tpdu.destination + frame.tpdu.source, ...frame.tpdu },
      header: {
        value: h.applicationType + h.specVersion + h.terminalStatus + h.processingRequest + h.subVersion,
        application_type: h.applicationType,
        spec_version: h.specVersion,
        terminal_status: h.terminalStatus,
        processing_request: h.processingRequest,
        sub_version: h.subVersion,
      },
      mti: frame.message.mti,
      bitmap: bitmapHex(frame.message),
      fields: messageToJson(dialect, frame.message).fields,
    };
  }
  let start = 0;
  if (framed) {
    if (bytes.length < 2 || bytes.readUInt16BE(0) !== bytes.length - 2) throw new Iso8583Error('invalid_frame', undefined, 0, 'a 2-byte length equal to the bytes that follow');
    start = 2;
  }
  const message = dialect.unpack(bytes, start);
  return {
    dialect: dialect.spec.name,
    ...(framed ? { length: bytes.length - 2 } : {}),
    mti: message.mti,
    bitmap: bitmapHex(message),
    fields: messageToJson(dialect, message).fields,
  };
}

function tlvLines(list: readonly Tlv[], indent: string): string[] {
  const out: string[] = [];
  for (const t of list) {
    const name = emvTagName(t.tag) ?? '';
    out.push(`${indent}${t.tag.padEnd(5)} ${name.padEnd(40)} ${t.value.toString('hex').toUpperCase()}`);
    if (t.children) out.push(...tlvLines(t.children, `${indent}  `));
  }
  return out;
}

function textLines(dialect: Dialect, d: DecodedJson, message: IsoMessage): string[] {
  const out: string[] = [];
  out.push(`${d.dialect} message${d.length !== undefined ? `, LEN ${d.length}` : ''}`);
  if (d.tpdu) out.push(`TPDU    ${d.tpdu.value}   id ${d.tpdu.id}, destination ${d.tpdu.destination}, source ${d.tpdu.source}`);
  if (d.header) {
    const h = d.header;
    out.push(`header  ${h.value}   application ${h.application_type}, version ${h.spec_version}, status ${h.terminal_status}, processing request ${h.processing_request}, sub-version ${h.sub_version}`);
  }
  out.push(`MTI     ${d.mti}`);
  out.push(`bitmap  ${d.bitmap}   fields ${message.fieldNumbers().join(' ')}`);
  for (const n of message.fieldNumbers()) {
    const spec = dialect.field(n)!;
    const value = message.get(n)!;
    const text = fieldValueText(value);
    const shown = spec.type === 'b' && typeof value !== 'string' && /^[\x20-\x7e]+$/.test(value.toString('latin1')) ? `${text}  "${value.toString('latin1')}"` : typeof value === 'string' && spec.type !== 'n' && spec.type !== 'z' ? `"${text}"` : text;
    out.push(`  ${String(n).padStart(3)}  ${spec.name.padEnd(32)} ${shown}`);
    const json = d.fields[String(n)];
    if (spec.subfields && typeof json === 'object') {
      for (const sub of spec.subfields) if (json[sub.id] !== undefined) out.push(`       ${sub.id.padEnd(6)} ${sub.name.padEnd(26)} ${String(json[sub.id])}`);
    }
    if (spec.tlv && Buffer.isBuffer(value)) {
      try {
        out.push(...tlvLines(decodeTlv(value, n), '       '));
      } catch (err) {
        out.push(`       (not valid BER-TLV: ${(err as Error).message})`);
      }
    }
  }
  return out;
}

const DEFAULT_TPDU: Tpdu = { id: '60', destination: '0003', source: '0000' };
const DEFAULT_HEADER: CupHeader = { applicationType: '60', specVersion: '31', terminalStatus: '0', processingRequest: '0', subVersion: '000000' };

function tpduFrom(input: unknown): Tpdu {
  if (input === undefined) return DEFAULT_TPDU;
  const value = typeof input === 'string' ? input : (input as { value?: unknown })?.value;
  if (typeof value !== 'string' || !/^[0-9]{10}$/.test(value)) throw new UsageError('invalid_tpdu', '"tpdu" must be 10 digits (or {"value": "…"})');
  return { id: value.slice(0, 2), destination: value.slice(2, 6), source: value.slice(6, 10) };
}

function headerFrom(input: unknown): CupHeader {
  if (input === undefined) return DEFAULT_HEADER;
  const value = typeof input === 'string' ? input : (input as { value?: unknown })?.value;
  if (typeof value !== 'string' || !/^[0-9]{5}[0-9A-Fa-f][0-9]{6}$/.test(value)) throw new UsageError('invalid_header', '"header" must be 12 BCD nibbles (or {"value": "…"})');
  return { applicationType: value.slice(0, 2), specVersion: value.slice(2, 4), terminalStatus: value.slice(4, 5), processingRequest: value.slice(5, 6).toUpperCase(), subVersion: value.slice(6, 12) };
}

export function isoCommand(io: Io, run: Run): Command {
  const iso = new Command('iso').description('decode and encode ISO 8583 messages');
  const dialectOption = () => new Option('--dialect <name>', 'message dialect').choices(Object.keys(DIALECTS)).default('cup');

  iso
    .command('decode')
    .description('decode a message given in hex (cup: from the TPDU, or from LEN with --framed)')
    .addOption(dialectOption())
    .option('--framed', 'the hex starts with the 2-byte length')
    .option('--json', 'print one JSON object')
    .argument('[hex]', 'the message; read from standard input when absent or "-"')
    .action((hexArg: string | undefined, o) =>
      run(async () => {
        const dialect = dialectOf(o.dialect);
        const text = hexArg === undefined || hexArg === '-' ? await io.readStdin() : hexArg;
        const bytes = parseFrameHex(text);
        const decoded = decode(dialect, bytes, Boolean(o.framed));
        emit(io, o.json, decoded, () => textLines(dialect, decoded, messageFromJson(dialect, decoded)));
      }, () => o.json),
    );

  iso
    .command('encode')
    .description('encode the JSON that "iso decode --json" prints (read from standard input) and print hex')
    .addOption(dialectOption())
    .option('--framed', 'start the output with the 2-byte length')
    .option('--json', 'print {"hex": …} instead of bare hex')
    .action((o) =>
      run(async () => {
        const dialect = dialectOf(o.dialect);
        let input: unknown;
        try {
          input = JSON.parse(await io.readStdin());
        } catch {
          throw new UsageError('invalid_json', 'standard input is not JSON');
        }
        const message = messageFromJson(dialect, input);
        let bytes: Buffer;
        if (dialect.spec.name === 'cup') {
          const { tpdu, header } = input as { tpdu?: unknown; header?: unknown };
          bytes = packCupFrame(dialect, { tpdu: tpduFrom(tpdu), header: headerFrom(header), message }, Boolean(o.framed));
        } else {
          const body = dialect.pack(message);
          bytes = o.framed ? Buffer.concat([Buffer.from([body.length >> 8, body.length & 0xff]), body]) : body;
        }
        const hex = bytes.toString('hex').toUpperCase();
        emit(io, o.json, { hex }, () => [hex]);
      }, () => o.json),
    );

  return iso;
}
