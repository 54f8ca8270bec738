import { Command, Option } from 'commander';
import {
  aesDukptKeys,
  aesEcb,
  aesKcv,
  aesCmac,
  cardVerificationValue,
  checkIdNumber,
  cupEcbMac,
  DEFAULT_DECIMALIZATION_TABLE,
  decipherFormat4,
  decodeClearPinBlock,
  defaultValidationData,
  encipherFormat4,
  encodeClearPinBlock,
  ibm3624Offset,
  ibm3624PinFromOffset,
  iso9797Alg1,
  iso9797Alg3,
  luhnCheckDigit,
  luhnValid,
  parseHex,
  pinBlockAccount,
  requireDigits,
  tdesDukptKeys,
  tdesEcb,
  tdesKcv,
  toHex,
  visaPvv,
  type KcvMethod,
  type PinBlockFormat,
} from '../crypto/index.js';
import { emit, UsageError, type Io } from './output.js';

type Run = (action: () => Promise<void> | void, json: () => boolean) => Promise<void>;

const TDES_KEY = [8, 16, 24];
const AES_KEY = [16, 24, 32];

function formatOf(value: string): PinBlockFormat {
  if (!['0', '1', '3', '4'].includes(value)) throw new UsageError('invalid_format', 'PIN block format must be 0, 1, 3 or 4');
  return Number(value) as PinBlockFormat;
}

function needPan(pan: string | undefined, format: PinBlockFormat): string {
  if (pan === undefined) throw new UsageError('pan_required', `PIN block format ${format} needs --pan`);
  return pan;
}

export function cryptoCommand(io: Io, run: Run): Command {
  const crypto = new Command('crypto').description('payment cryptography calculator: KCVs, PIN blocks, MACs, PVV, IBM 3624, CVV, DUKPT, Luhn, ID numbers');

  crypto
    .command('kcv')
    .description('key check value of a TDES or AES key')
    .requiredOption('--key <hex>', 'the key')
    .addOption(new Option('--alg <alg>', 'key algorithm').choices(['tdes', 'aes']).default('tdes'))
    .addOption(new Option('--method <method>', 'AES convention: CMAC of zeros (X9.24-1:2017) or encryption of zeros').choices(['cmac', 'encrypt-zeros']))
    .option('--length <bytes>', 'bytes of check value to show (1-8)', '3')
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(() => {
        const length = Number(o.length);
        if (!Number.isInteger(length) || length < 1 || length > 8) throw new UsageError('invalid_length', '--length must be 1 to 8 bytes');
        const aes = o.alg === 'aes';
        if (!aes && o.method === 'cmac') throw new UsageError('invalid_method', 'TDES check values are always the encryption of zeros');
        const method: KcvMethod = aes ? (o.method ?? 'cmac') : 'encrypt-zeros';
        const key = parseHex(o.key, '--key', aes ? AES_KEY : TDES_KEY);
        const kcv = toHex(aes ? aesKcv(key, method, length) : tdesKcv(key, length));
        emit(io, o.json, { alg: o.alg, method, kcv }, () => [`KCV ${kcv}  (${aes ? 'AES' : 'TDES'}, ${method === 'cmac' ? 'CMAC of 16 zero bytes' : 'encryption of zeros'})`]);
      }, () => o.json),
    );

  const pinblock = crypto.command('pinblock').description('ISO 9564-1 PIN blocks, formats 0, 1, 3 and 4');
  pinblock
    .command('encode')
    .description('build a PIN block (enciphered when --key is given; format 4 always needs the AES --key)')
    .requiredOption('--format <n>', '0, 1, 3 or 4')
    .requiredOption('--pin <digits>', 'the PIN, 4-12 digits')
    .option('--pan <digits>', 'the card number (not used by format 1)')
    .option('--key <hex>', 'PIN key: TDES for formats 0/1/3, AES for 4')
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(() => {
        const format = formatOf(o.format);
        let block: Buffer;
        if (format === 4) {
          if (!o.key) throw new UsageError('key_required', 'PIN block format 4 is defined with its AES encipherment: give --key');
          block = encipherFormat4(aesEcb(parseHex(o.key, '--key', AES_KEY)), o.pin, needPan(o.pan, format));
        } else {
          const clear = encodeClearPinBlock(format, o.pin, format === 1 ? undefined : pinBlockAccount(needPan(o.pan, format)));
          block = o.key ? tdesEcb(parseHex(o.key, '--key', TDES_KEY)).encrypt(clear) : clear;
        }
        const enciphered = format === 4 || Boolean(o.key);
        emit(io, o.json, { format, block: toHex(block), enciphered }, () => [`PIN block ${toHex(block)}  (ISO 9564-1 format ${format}, ${enciphered ? 'enciphered' : 'clear'})`]);
      }, () => o.json),
    );
  pinblock
    .command('decode')
    .description('recover the PIN from a PIN block (deciphered first when --key is given)')
    .requiredOption('--format <n>', '0, 1, 3 or 4')
    .requiredOption('--block <hex>', 'the PIN block')
    .option('--pan <digits>', 'the card number (not used by format 1)')
    .option('--key <hex>', 'PIN key the block is under')
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(() => {
        const format = formatOf(o.format);
        let pin: string;
        if (format === 4) {
          if (!o.key) throw new UsageError('key_required', 'PIN block format 4 needs its AES --key');
          pin = decipherFormat4(aesEcb(parseHex(o.key, '--key', AES_KEY)), parseHex(o.block, '--block', [16]), needPan(o.pan, format));
        } else {
          const raw = parseHex(o.block, '--block', [8]);
          const clear = o.key ? tdesEcb(parseHex(o.key, '--key', TDES_KEY)).decrypt(raw) : raw;
          pin = decodeClearPinBlock(format, clear, format === 1 ? undefined : pinBlockAccount(needPan(o.pan, format)));
        }
        emit(io, o.json, { format, pin }, () => [`PIN ${pin}  (ISO 9564-1 format ${format})`]);
      }, () => o.json),
    );

  crypto
    .command('mac')
    .description('message authentication code')
    .addOption(new Option('--alg <alg>', 'algorithm').choices(['cup-ecb', 'iso9797-1-m1', 'iso9797-1-m3', 'aes-cmac']).makeOptionMandatory())
    .requiredOption('--key <hex>', 'MAC key')
    .requiredOption('--data <hex>', 'the data (for cup-ecb: the MAB, MTI through the field before 64)')
    .addOption(new Option('--padding <method>', 'ISO 9797-1 padding method').choices(['1', '2']).default('1'))
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(() => {
        const data = parseHex(o.data, '--data');
        const padding = Number(o.padding) as 1 | 2;
        let mac: string;
        let note: string;
        switch (o.alg) {
          case 'cup-ecb':
            mac = cupEcbMac(parseHex(o.key, '--key', [8, 16]), data).toString('latin1');
            note = 'UnionPay terminal ECB MAC; field 64 carries these 8 characters as ASCII';
            break;
          case 'iso9797-1-m1':
            mac = toHex(iso9797Alg1(parseHex(o.key, '--key', TDES_KEY), data, padding));
            note = `ISO 9797-1 algorithm 1, padding method ${padding}`;
            break;
          case 'iso9797-1-m3':
            mac = toHex(iso9797Alg3(parseHex(o.key, '--key', [16]), data, padding));
            note = `ISO 9797-1 algorithm 3 (ANSI X9.19 retail MAC), padding method ${padding}`;
            break;
          default:
            mac = toHex(aesCmac(parseHex(o.key, '--key', AES_KEY), data));
            note = 'AES-CMAC (NIST SP 800-38B)';
        }
        emit(io, o.json, { alg: o.alg, mac }, () => [`MAC ${mac}  (${note})`]);
      }, () => o.json),
    );

  crypto
    .command('pvv')
    .description('Visa PIN verification value')
    .requiredOption('--pvk <hex>', 'PIN verification key pair (16 bytes)')
    .requiredOption('--pan <digits>', 'card number')
    .requiredOption('--pvki <n>', 'PIN verification key index, one digit')
    .requiredOption('--pin <digits>', 'the PIN')
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(() => {
        const pvv = visaPvv(tdesEcb(parseHex(o.pvk, '--pvk', [16, 24])), o.pan, o.pvki, o.pin);
        emit(io, o.json, { pvv }, () => [`PVV ${pvv}`]);
      }, () => o.json),
    );

  crypto
    .command('ibm3624')
    .description('IBM 3624 PIN offset (or, with --offset, verify one)')
    .requiredOption('--pvk <hex>', 'PIN verification key')
    .requiredOption('--pan <digits>', 'card number')
    .requiredOption('--pin <digits>', 'the PIN')
    .option('--dec-table <digits>', 'decimalisation table, 16 digits', DEFAULT_DECIMALIZATION_TABLE)
    .option('--validation-data <hex>', '16 hex digits; default: the 12 PAN digits left of the check digit, padded with F')
    .option('--offset <digits>', 'verify this offset instead of computing one')
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(() => {
        const pvk = tdesEcb(parseHex(o.pvk, '--pvk', TDES_KEY));
        requireDigits(o.decTable, '--dec-table', 16, 16);
        const data: string = (o.validationData ?? defaultValidationData(o.pan)).toUpperCase();
        requireDigits(o.pin, 'PIN', 4, 12);
        if (o.offset !== undefined) {
          requireDigits(o.offset, '--offset', o.pin.length, o.pin.length);
          const valid = ibm3624PinFromOffset(pvk, data, o.decTable, o.offset) === o.pin;
          emit(io, o.json, { valid, offset: o.offset }, () => [`offset ${o.offset}: ${valid ? 'valid' : 'NOT valid'} for this PIN`]);
          return;
        }
        const offset = ibm3624Offset(pvk, data, o.decTable, o.pin);
        emit(io, o.json, { offset, validation_data: data, dec_table: o.decTable }, () => [`offset ${offset}  (validation data ${data}, decimalisation table ${o.decTable})`]);
      }, () => o.json),
    );

  crypto
    .command('cvv')
    .description('card verification value (CVV/CVC; service code 000 gives CVV2, 999 iCVV)')
    .requiredOption('--cvk <hex>', 'card verification key pair A‖B (16 bytes)')
    .requiredOption('--pan <digits>', 'card number')
    .requiredOption('--expiry <yymm>', 'expiry date YYMM')
    .requiredOption('--service-code <nnn>', 'service code')
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(() => {
        const cvk = parseHex(o.cvk, '--cvk', [16]);
        const cvv = cardVerificationValue(tdesEcb(cvk.subarray(0, 8)), tdesEcb(cvk), o.pan, o.expiry, o.serviceCode);
        emit(io, o.json, { cvv }, () => [`CVV ${cvv}`]);
      }, () => o.json),
    );

  crypto
    .command('dukpt')
    .description('DUKPT keys for a KSN: TDES (ANSI X9.24-1) or, with --aes, AES (ANSI X9.24-3)')
    .requiredOption('--bdk <hex>', 'base derivation key')
    .requiredOption('--ksn <hex>', 'key serial number: 20 hex digits (TDES) or 24 (AES)')
    .option('--aes', 'AES DUKPT')
    .option('--pin-block <hex>', 'also decrypt this PIN block (format 0 for TDES, 4 for AES)')
    .option('--pan <digits>', 'card number, with --pin-block')
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(() => {
        const aes = Boolean(o.aes);
        const bdk = parseHex(o.bdk, '--bdk', aes ? AES_KEY : [16]);
        const ksn = parseHex(o.ksn, '--ksn', aes ? [12] : [10]);
        const keys = aes ? aesDukptKeys(bdk, ksn) : tdesDukptKeys(bdk, ksn);
        const result: Record<string, unknown> = {
          alg: aes ? 'aes' : 'tdes',
          ksn: toHex(ksn),
          ipek: toHex(keys.ipek),
          pin_key: toHex(keys.pinKey),
          mac_key: toHex(keys.macKey),
          data_key: toHex(keys.dataKey),
        };
        if (o.pinBlock !== undefined) {
          if (o.pan === undefined) throw new UsageError('pan_required', '--pin-block needs --pan');
          result.pin = aes
            ? decipherFormat4(aesEcb(keys.pinKey), parseHex(o.pinBlock, '--pin-block', [16]), o.pan)
            : decodeClearPinBlock(0, tdesEcb(keys.pinKey).decrypt(parseHex(o.pinBlock, '--pin-block', [8])), pinBlockAccount(o.pan));
        }
        emit(io, o.json, result, () => [
          `${aes ? 'AES DUKPT (ANSI X9.24-3:2017)' : 'TDES DUKPT (ANSI X9.24-1:2009)'}  KSN ${result.ksn}`,
          `${aes ? 'IK  ' : 'IPEK'}      ${result.ipek}`,
          `PIN key   ${result.pin_key}${aes ? '  (PIN encryption)' : '  (PIN variant)'}`,
          `MAC key   ${result.mac_key}${aes ? '  (MAC generation)' : '  (MAC request variant)'}`,
          `data key  ${result.data_key}${aes ? '  (data encryption)' : '  (data variant, one-way)'}`,
          ...(result.pin !== undefined ? [`PIN       ${result.pin}`] : []),
        ]);
      }, () => o.json),
    );

  crypto
    .command('luhn')
    .description('Luhn check of a card number')
    .argument('<digits>', 'the number')
    .option('--json', 'print one JSON object')
    .action((digits: string, o) =>
      run(() => {
        requireDigits(digits, 'the number', 2, 64);
        const valid = luhnValid(digits);
        const expected = luhnCheckDigit(digits.slice(0, -1));
        emit(io, o.json, { valid, check_digit: expected }, () => [valid ? `${digits}: valid (Luhn)` : `${digits}: NOT valid (Luhn); the check digit should be ${expected}`]);
      }, () => o.json),
    );

  crypto
    .command('id-number')
    .description('check a Chinese resident identity card number (GB 11643)')
    .argument('<number>', '18 characters, the last a digit or X')
    .option('--json', 'print one JSON object')
    .action((number: string, o) =>
      run(() => {
        const r = checkIdNumber(number);
        const object = {
          valid: r.valid,
          ...(r.problem ? { problem: r.problem } : {}),
          ...(r.expectedCheck ? { expected_check: r.expectedCheck } : {}),
          ...(r.birthDate ? { birth_date: r.birthDate, sex: r.sex, region_code: r.regionCode } : {}),
        };
        const why = { format: 'not 17 digits followed by a digit or X', birth_date: 'the birth date is not a real past date', check_digit: `the check character should be ${r.expectedCheck}` };
        emit(io, o.json, object, () =>
          r.valid ? [`valid: born ${r.birthDate}, ${r.sex}, region ${r.regionCode}`] : [`NOT valid: ${why[r.problem!]}`],
        );
      }, () => o.json),
    );

  return crypto;
}
