import { Command, Option } from 'commander';
import { AuditLog } from '../audit/index.js';
import { isWeakDesKey, withOddParity } from '../crypto/index.js';
import { HsmError, type Hsm } from '../hsm/index.js';
import { createMerchant, createTerminal, firstOperatorPasswords, issueActivationCode, merchantByMid, merchantSummaries, newActivationCode, nextTid, operatorPassword, passwordFreeOf, passwordFreeProblem, provisionOperators, requireSignIn, resetOperator, setPasswordFree, terminalByTid, terminalSummaries, updateTerminal, type PasswordFreeSettings, type Terminal } from '../merchants/index.js';
import { formatYuan } from '../terminal/index.js';
import type { Store } from '../store/index.js';
import { cliActor, emit, parseYuan, UsageError, type Io } from './output.js';
import { DEFAULT_DB, storeHsm, withStore } from './platform-commands.js';
import { Prompter } from './prompter.js';

/**
 * `posgate merchants` and `posgate terminals`: the payment company's engineers set up merchants and
 * terminals on the database the host serves (the portal will do the same for merchants): a
 * third-party terminal's TMK is imported from its key components, a posgate terminal gets a
 * one-time activation code (§10.1), operators get one-time passwords. Every change is audited under
 * the person's login name. A running host sees a change within a second (its terminal and merchant
 * cache lives 1 s; a sign-in reads them afresh).
 */

type Run = (action: () => Promise<void> | void, json: () => boolean) => Promise<void>;


interface DbOptions {
  readonly db: string;
  readonly lmkFile?: string;
  readonly json?: boolean;
}

const withDb = (cmd: Command, lmk: boolean): Command => {
  cmd.option('--db <url>', 'database', DEFAULT_DB).option('--json', 'print one JSON object');
  if (lmk) cmd.option('--lmk-file <path>', 'LMK key file (default: beside an SQLite database; or POSGATE_LMK)');
  return cmd;
};

async function terminalNamed(store: Store, tid: string): Promise<Terminal> {
  const terminal = await terminalByTid(store.db, tid);
  if (!terminal) throw new UsageError('unknown_terminal', `no terminal ${tid}`);
  return terminal;
}

export function merchantsCommand(io: Io, run: Run): Command {
  const merchants = new Command('merchants').description('merchants: list them, add one, set their password-free rules');
  withDb(merchants.command('list').description('every merchant, with its terminals counted'), false).action((o: DbOptions) =>
    run(() =>
      withStore(o.db, async (store) => {
        const list = await merchantSummaries(store.db);
        emit(io, Boolean(o.json), list, () => (list.length === 0 ? ['no merchants'] : list.map((m) => `${m.mid.padEnd(15)}  ${m.status.padEnd(9)} MCC ${m.mcc}  fee ${m.fee_rate_pct.toFixed(2)} %  ${m.terminals} terminal(s)  ${m.name}`)));
      }), () => Boolean(o.json)),
  );
  withDb(
    merchants
      .command('add')
      .description('add a merchant, with its ledger accounts')
      .requiredOption('--mid <mid>', 'merchant ID (field 42): 15 characters, usually acquirer 3 + area 4 + MCC 4 + serial 4')
      .requiredOption('--name <name>', 'the merchant\'s name, as receipts print it')
      .option('--mcc <mcc>', 'merchant category code', '5411')
      .option('--fee-rate <percent>', 'merchant discount rate taken at settlement, in percent', '0.60')
      .option('--timezone <zone>', 'the merchant\'s time zone (fields 12/13, daily limits)', 'Asia/Shanghai'),
    true,
  ).action((o: DbOptions & { mid: string; name: string; mcc: string; feeRate: string; timezone: string }) =>
    run(() =>
      withStore(o.db, async (store) => {
        if (!/^[0-9A-Za-z]{15}$/.test(o.mid)) throw new UsageError('invalid_mid', 'a merchant ID is 15 letters or digits');
        if (!/^[0-9]{4}$/.test(o.mcc)) throw new UsageError('invalid_mcc', 'an MCC is 4 digits');
        if (!/^\d{1,2}(\.\d{1,4})?$/.test(o.feeRate) || Number(o.feeRate) > 10) throw new UsageError('invalid_fee_rate', '--fee-rate is a percentage from 0 to 10, e.g. 0.60');
        if (!Intl.supportedValuesOf('timeZone').includes(o.timezone) && o.timezone !== 'UTC') throw new UsageError('invalid_timezone', `${o.timezone} is not a time zone (e.g. Asia/Shanghai)`);
        const hsm = storeHsm(store, o.lmkFile);
        const merchant = await store.transact(async (trx) => {
          if (await merchantByMid(trx, o.mid)) throw new UsageError('merchant_exists', `merchant ${o.mid} already exists`);
          const m = await createMerchant(trx, { mid: o.mid, name: o.name, mcc: o.mcc, timezone: o.timezone, feeRatePpm: Math.round(Number(o.feeRate) * 10_000) });
          await new AuditLog(store.engine, hsm).append(trx, { actor: cliActor(), action: 'merchant.created', subject: m.id, outcome: 'success', detail: { mid: m.mid } });
          return m;
        });
        emit(io, Boolean(o.json), { id: merchant.id, mid: merchant.mid }, () => [`merchant ${merchant.mid} added (${merchant.name}); add its terminals with "posgate terminals add --mid ${merchant.mid}"`]);
      }), () => Boolean(o.json)),
  );
  withDb(
    merchants
      .command('password-free')
      .description('show or change a merchant\'s password-free (小额免密免签) rules, §9: its terminals are told to download them again')
      .requiredOption('--mid <mid>', 'merchant ID')
      .addOption(new Option('--enabled <on|off>', 'password-free payments at all').choices(['on', 'off']))
      .option('--limit <yuan>', 'the most a payment may be without a PIN')
      .option('--window <HHMM-HHMM>', 'merchant-local hours when it applies; the same twice means all day')
      .option('--daily-amount <yuan>', 'per card per day, all its password-free payments together')
      .option('--daily-count <n>', 'per card per day, how many')
      .option('--modes <list>', 'entry modes that qualify: 07 contactless, 98 contactless PBOC, 03 QR, 91 contactless stripe, 96 mobile')
      .addOption(new Option('--cdcvm <on|off>', 'a payment the phone verified (CDCVM) is not password-free').choices(['on', 'off']))
      .addOption(new Option('--signature-free <on|off>', 'print 免签 instead of a signature line up to the signature-free limit').choices(['on', 'off']))
      .option('--signature-free-limit <yuan>', 'up to this amount no signature')
      .addOption(new Option('--decline-code <code>', 'what a refused no-PIN payment is answered, which makes the terminal ask for the PIN').choices(['55', '61', '65']))
      .option('--bin-blacklist <list>', 'card BINs never password-free, comma-separated ("" for none)'),
    true,
  ).action((o: DbOptions & PasswordFreeOptions & { mid: string }) =>
    run(() =>
      withStore(o.db, async (store) => {
        const changes = passwordFreeChanges(o);
        const hsm = Object.keys(changes).length > 0 ? storeHsm(store, o.lmkFile) : undefined;
        const settings = await store.transact(async (trx) => {
          const merchant = await merchantByMid(trx, o.mid);
          if (!merchant) throw new UsageError('unknown_merchant', `no merchant ${o.mid}`);
          const current = passwordFreeOf(merchant);
          if (!hsm) return current;
          const next = { ...current, ...changes };
          const problem = passwordFreeProblem(next);
          if (problem !== null) throw new UsageError('invalid_password_free', problem);
          await setPasswordFree(trx, merchant.id, next);
          const detail = Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v as string | number | boolean)]));
          await new AuditLog(store.engine, hsm).append(trx, { actor: cliActor(), action: 'merchant.password_free_changed', subject: merchant.id, outcome: 'success', detail });
          return next;
        });
        emit(io, Boolean(o.json), settings, () => [
          `password-free payments of merchant ${o.mid}${hsm ? ' (changed: its terminals download them again)' : ''}:`,
          `  ${settings.enabled ? 'on' : 'off'}, up to RMB ${formatYuan(settings.maxAmountFen)} a payment, ${settings.windowStart === settings.windowEnd ? 'all day' : `${settings.windowStart.slice(0, 2)}:${settings.windowStart.slice(2)}–${settings.windowEnd.slice(0, 2)}:${settings.windowEnd.slice(2)}`}`,
          `  per card per day: RMB ${formatYuan(settings.dailyAmountFen)} and ${settings.dailyCount} payments`,
          `  entry modes ${settings.entryModes.join(', ')}; CDCVM ${settings.cdcvm ? 'on' : 'off'}; 免签 ${settings.noSignature ? `up to RMB ${formatYuan(settings.noSignatureLimitFen)}` : 'off'}; refused with ${settings.declineCode}${settings.binBlacklist.length ? `; never for BINs ${settings.binBlacklist.join(', ')}` : ''}`,
        ]);
      }), () => Boolean(o.json)),
  );
  return merchants;
}

interface PasswordFreeOptions {
  readonly enabled?: 'on' | 'off';
  readonly limit?: string;
  readonly window?: string;
  readonly dailyAmount?: string;
  readonly dailyCount?: string;
  readonly modes?: string;
  readonly cdcvm?: 'on' | 'off';
  readonly signatureFree?: 'on' | 'off';
  readonly signatureFreeLimit?: string;
  readonly declineCode?: string;
  readonly binBlacklist?: string;
}

/** The settings the options change; nothing when none is given (the command then only shows them). */
function passwordFreeChanges(o: PasswordFreeOptions): Partial<PasswordFreeSettings> {
  const list = (text: string) => text.split(',').map((x) => x.trim()).filter(Boolean);
  const changes: { -readonly [K in keyof PasswordFreeSettings]?: PasswordFreeSettings[K] } = {};
  if (o.enabled) changes.enabled = o.enabled === 'on';
  if (o.limit !== undefined) changes.maxAmountFen = parseYuan(o.limit);
  if (o.window !== undefined) {
    const m = /^(\d{2}):?(\d{2})-(\d{2}):?(\d{2})$/.exec(o.window);
    if (!m) throw new UsageError('invalid_password_free', '--window is HHMM-HHMM, e.g. 0900-2200');
    changes.windowStart = m[1]! + m[2]!;
    changes.windowEnd = m[3]! + m[4]!;
  }
  if (o.dailyAmount !== undefined) changes.dailyAmountFen = parseYuan(o.dailyAmount);
  if (o.dailyCount !== undefined) {
    if (!/^\d{1,3}$/.test(o.dailyCount)) throw new UsageError('invalid_password_free', '--daily-count is 1 to 999');
    changes.dailyCount = Number(o.dailyCount);
  }
  if (o.modes !== undefined) changes.entryModes = list(o.modes);
  if (o.cdcvm) changes.cdcvm = o.cdcvm === 'on';
  if (o.signatureFree) changes.noSignature = o.signatureFree === 'on';
  if (o.signatureFreeLimit !== undefined) changes.noSignatureLimitFen = parseYuan(o.signatureFreeLimit);
  if (o.declineCode !== undefined) changes.declineCode = o.declineCode;
  if (o.binBlacklist !== undefined) changes.binBlacklist = list(o.binBlacklist);
  return changes;
}

export function terminalsCommand(io: Io, run: Run): Command {
  const terminals = new Command('terminals').description('terminals: list, add, activation codes, TMK import, operators\' one-time passwords, key rotation, disable and enable');

  withDb(terminals.command('list').description('every terminal: merchant, serial, keys, batch, last seen').option('--mid <mid>', 'only this merchant\'s'), false).action((o: DbOptions & { mid?: string }) =>
    run(() =>
      withStore(o.db, async (store) => {
        const list = await terminalSummaries(store.db, o.mid);
        emit(io, Boolean(o.json), list, () =>
          list.length === 0
            ? ['no terminals']
            : list.map((t) => `${t.tid}  ${t.mid}  ${(t.serial ?? '-').padEnd(12)} ${t.status.padEnd(8)} ${t.has_tmk ? (t.signed_in ? 'signed in' : 'TMK, not signed in') : t.activation_pending ? 'awaiting activation' : 'no TMK'}  batch ${String(t.open_batch).padStart(6, '0')}  software ${t.software_version ?? '-'}  last seen ${t.last_seen ?? 'never'}`),
        );
      }), () => Boolean(o.json)),
  );

  withDb(
    terminals
      .command('add')
      .description('register a terminal to a merchant, with its first operators (99, 00, 01) and their one-time passwords')
      .requiredOption('--mid <mid>', 'the merchant\'s ID')
      .option('--tid <tid>', 'terminal ID, 8 digits (default: the next free one)')
      .option('--serial <serial>', 'the device\'s serial number, which activation must match')
      .option('--model <model>', 'device model', 'third-party POS')
      .option('--name <name>', 'a name for the merchant to know it by')
      .addOption(new Option('--supervisor-check <where>', 'who checks the supervisor password for voids and refunds (§10.2): the terminal itself, or the host (posgate terminals)').choices(['terminal', 'host']).default('terminal')),
    true,
  ).action((o: DbOptions & { mid: string; tid?: string; serial?: string; model: string; name?: string; supervisorCheck: 'host' | 'terminal' }) =>
    run(() =>
      withStore(o.db, async (store) => {
        if (o.tid !== undefined && !/^[0-9]{8}$/.test(o.tid)) throw new UsageError('invalid_tid', 'a terminal ID is 8 digits');
        if (o.serial !== undefined && !/^[\x21-\x7e]{1,32}$/.test(o.serial)) throw new UsageError('invalid_serial', 'a serial number is 1 to 32 printable characters, no spaces');
        const hsm = storeHsm(store, o.lmkFile);
        const passwords = await firstOperatorPasswords((clear) => hsm.hashPassword(clear)); // hashed before the write lock is taken
        const made = await store.transact(async (trx) => {
          const merchant = await merchantByMid(trx, o.mid);
          if (!merchant) throw new UsageError('unknown_merchant', `no merchant ${o.mid}`);
          const tid = o.tid ?? (await nextTid(trx));
          if (await terminalByTid(trx, tid)) throw new UsageError('terminal_exists', `terminal ${tid} already exists`);
          const terminal = await createTerminal(trx, { merchantId: merchant.id, tid, ...(o.serial ? { serial: o.serial } : {}), model: o.model, ...(o.name ? { name: o.name } : {}), supervisorCheck: o.supervisorCheck });
          await provisionOperators(trx, terminal.id, passwords);
          await new AuditLog(store.engine, hsm).append(trx, { actor: cliActor(), action: 'terminal.created', subject: terminal.id, outcome: 'success', detail: { tid, mid: merchant.mid, serial: o.serial ?? null } });
          return { tid, mid: merchant.mid, operators: passwords.map((p) => ({ no: p.no, role: p.role, password: p.clear })) };
        });
        emit(io, Boolean(o.json), made, () => [
          `terminal ${made.tid} added to merchant ${made.mid}. Its operators' one-time passwords (shown once, to be changed at first use):`,
          ...made.operators.map((op) => `  ${op.no} ${op.role.padEnd(10)} ${op.password}`),
          `Next: "posgate terminals activation-code --tid ${made.tid}" for a posgate terminal, or "posgate terminals import-tmk --tid ${made.tid} --kcv …" for an injected TMK.`,
        ]);
      }), () => Boolean(o.json)),
  );

  withDb(
    terminals
      .command('activation-code')
      .description('a one-time activation code (§10.1: 12 digits, valid 24 hours); a new one voids the last')
      .requiredOption('--tid <tid>', 'terminal ID')
      .option('--serial <serial>', 'bind the code to this serial number (default: the terminal\'s, if it has one)'),
    true,
  ).action((o: DbOptions & { tid: string; serial?: string }) =>
    run(() =>
      withStore(o.db, async (store) => {
        if (o.serial !== undefined && !/^[\x21-\x7e]{1,32}$/.test(o.serial)) throw new UsageError('invalid_serial', 'a serial number is 1 to 32 printable characters, no spaces');
        const hsm = storeHsm(store, o.lmkFile);
        const terminal = await terminalNamed(store, o.tid);
        if (terminal.status !== 'active') throw new UsageError('terminal_not_active', `terminal ${o.tid} is ${terminal.status}`);
        const serial = o.serial ?? terminal.serial;
        const now = Date.now();
        const ttlMs = 24 * 3600_000;
        const issued = await newActivationCode((clear) => hsm.hashPassword(clear));
        await store.transact(async (trx) => {
          await issueActivationCode(trx, terminal.id, issued, serial, ttlMs, now);
          await new AuditLog(store.engine, hsm).append(trx, { actor: cliActor(), action: 'terminal.activation_code_issued', subject: terminal.id, outcome: 'success', detail: { serial, expires_at: now + ttlMs } }, now);
        });
        const code = issued.clear;
        const expires = new Date(now + ttlMs).toISOString();
        emit(io, Boolean(o.json), { tid: terminal.tid, activation_code: code, serial, expires_at: expires }, () => [
          `activation code for terminal ${terminal.tid}: ${code}`,
          `  single use, valid until ${expires}${serial ? `, only for serial number ${serial}` : ''}; shown once`,
        ]);
      }), () => Boolean(o.json)),
  );

  for (const [verb, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    withDb(
      terminals
        .command(verb)
        .description(
          verb === 'disable'
            ? 'stop a terminal (lost, stolen, taken out of service): every message is answered 97 (within a second), its working keys are destroyed'
            : 'put a disabled terminal back in service: it signs in again for new working keys',
        )
        .requiredOption('--tid <tid>', 'terminal ID')
        .option('--reason <text>', 'why, for the audit log'),
      true,
    ).action((o: DbOptions & { tid: string; reason?: string }) =>
      run(() =>
        withStore(o.db, async (store) => {
          const hsm = storeHsm(store, o.lmkFile);
          const terminal = await terminalNamed(store, o.tid);
          await store.transact(async (trx) => {
            await updateTerminal(trx, terminal.id, status === 'disabled' ? { status, pik: null, mak: null, tdk: null } : { status });
            await new AuditLog(store.engine, hsm).append(trx, { actor: cliActor(), action: `terminal.${verb}d`, subject: terminal.id, outcome: 'success', detail: { reason: o.reason ?? null, was: terminal.status } });
          });
          emit(io, Boolean(o.json), { tid: terminal.tid, status }, () => [status === 'disabled' ? `terminal ${terminal.tid} disabled: answered 97 from now on` : `terminal ${terminal.tid} enabled: it signs in to trade again`]);
        }), () => Boolean(o.json)),
    );
  }

  withDb(
    terminals
      .command('rotate-keys')
      .description('new working keys: the terminals chosen are asked to sign in again (processing request 3, §1.3) in their next answer')
      .option('--tid <tid>', 'this terminal')
      .option('--mid <mid>', 'every terminal of this merchant')
      .option('--all', 'every terminal that has a TMK'),
    true,
  ).action((o: DbOptions & { tid?: string; mid?: string; all?: boolean }) =>
    run(() =>
      withStore(o.db, async (store) => {
        if ([o.tid, o.mid, o.all].filter((x) => x !== undefined).length !== 1) throw new UsageError('choose_terminals', 'give one of --tid, --mid or --all');
        const hsm = storeHsm(store, o.lmkFile);
        const asked = await store.transact(async (trx) => {
          const tids = await requireSignIn(trx, { ...(o.tid ? { tid: o.tid } : {}), ...(o.mid ? { mid: o.mid } : {}) });
          if (tids.length === 0) throw new UsageError('unknown_terminal', 'no terminal with a TMK matches');
          await new AuditLog(store.engine, hsm).append(trx, { actor: cliActor(), action: 'terminal.keys_rotation_asked', subject: o.tid ? `terminal:${o.tid}` : o.mid ? `merchant:${o.mid}` : 'all', outcome: 'success', detail: { terminals: tids.length } });
          return tids;
        });
        emit(io, Boolean(o.json), { terminals: asked }, () => [`${asked.length} terminal(s) asked to sign in again for new working keys: ${asked.slice(0, 10).join(', ')}${asked.length > 10 ? ', …' : ''}`]);
      }), () => Boolean(o.json)),
  );

  withDb(
    terminals
      .command('reset-operator')
      .description('a new one-time password for an operator (adding the operator if new), its lock lifted: a forgotten or locked password, after the person was identified')
      .requiredOption('--tid <tid>', 'terminal ID')
      .requiredOption('--operator <no>', 'operator number: 99 administrator, 00 supervisor, 01–98 cashiers'),
    true,
  ).action((o: DbOptions & { tid: string; operator: string }) =>
    run(() =>
      withStore(o.db, async (store) => {
        if (!/^[0-9]{2}$/.test(o.operator)) throw new UsageError('invalid_operator', 'an operator number is 2 digits');
        const hsm = storeHsm(store, o.lmkFile);
        const terminal = await terminalNamed(store, o.tid);
        const p = await operatorPassword(o.operator, (clear) => hsm.hashPassword(clear));
        const reset = await store.transact(async (trx) => {
          const { created } = await resetOperator(trx, terminal.id, p);
          await new AuditLog(store.engine, hsm).append(trx, { actor: cliActor(), action: created ? 'operator.created' : 'operator.password_reset', subject: `operator:${terminal.tid}:${o.operator}`, outcome: 'success', detail: { role: p.role } });
          return { created, role: p.role, password: p.clear };
        });
        emit(io, Boolean(o.json), { tid: terminal.tid, operator: o.operator, role: reset.role, password: reset.password, created: reset.created }, () => [
          `${reset.created ? 'new operator' : 'operator'} ${o.operator} (${reset.role}) of terminal ${terminal.tid}: one-time password ${reset.password}`,
          '  shown once, to be changed at first use; any lock is lifted',
        ]);
      }), () => Boolean(o.json)),
  );

  withDb(
    terminals
      .command('import-tmk')
      .description('install the TMK injected into a third-party terminal: its components (32 hex digits each, one per line) on standard input, XORed; checked against --kcv')
      .requiredOption('--tid <tid>', 'terminal ID')
      .requiredOption('--kcv <hex>', 'the TMK\'s check value (6 or 8 hex digits, 3DES of zeros)'),
    true,
  ).action((o: DbOptions & { tid: string; kcv: string }) =>
    run(async () => {
      if (!/^([0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$/.test(o.kcv)) throw new UsageError('invalid_kcv', 'a KCV is 6 or 8 hex digits');
      // Never on the command line, where shell history and the process list would keep it.
      const tmk = combinedKey(await keyComponents(io));
      try {
        await withStore(o.db, async (store) => {
          const hsm = storeHsm(store, o.lmkFile);
          const terminal = await terminalNamed(store, o.tid);
          const kcv = await installTmk(store, hsm, terminal, tmk, o.kcv);
          emit(io, Boolean(o.json), { tid: terminal.tid, tmk_kcv: kcv }, () => [`TMK installed for terminal ${terminal.tid} (KCV ${kcv}); its working keys are gone: it must sign in`]);
        });
      } finally {
        tmk.fill(0);
      }
    }, () => Boolean(o.json)),
  );
  return terminals;
}

/**
 * The components as typed: at a keyboard each custodian in turn, without echo; from a pipe, one per line.
 */
async function keyComponents(io: Io): Promise<string> {
  if (!process.stdin.isTTY) return io.readStdin();
  const p = new Prompter(io);
  const typed: string[] = [];
  try {
    for (let i = 1; i <= 3; i++) {
      const component = await p.secret(`TMK component ${i} (32 hex digits, not shown${i > 1 ? '; Enter alone when all are in' : ''}): `);
      if (component === '') break;
      typed.push(component);
    }
  } finally {
    p.close();
  }
  return typed.join('\n');
}

/**
 * The TMK from its components, as a key ceremony gives them (dual control: each custodian holds one):
 * XORed, then set to odd parity. One component is a clear key, for a lab bench. A key that is
 * single-length in disguise (both halves equal) or has a weak half is refused, as §6.1 refuses them.
 */
export function combinedKey(text: string): Buffer {
  const components = text
    .split(/\r?\n/)
    .map((l) => l.trim().replace(/\s+/g, ''))
    .filter((l) => l !== '');
  if (components.length === 0 || components.length > 3) throw new UsageError('tmk_components', 'give 1 to 3 key components on standard input, one per line');
  if (!components.every((c) => /^[0-9A-Fa-f]{32}$/.test(c))) throw new UsageError('tmk_components', 'each key component is 32 hex digits (a double-length 3DES key)');
  const key = Buffer.alloc(16);
  for (const c of components) {
    const part = Buffer.from(c, 'hex');
    for (let i = 0; i < 16; i++) key[i]! ^= part[i]!;
  }
  const tmk = withOddParity(key);
  if (tmk.subarray(0, 8).equals(tmk.subarray(8))) throw new UsageError('tmk_single_length', 'the TMK\'s halves are equal: that is a single-length DES key, which §6.1 does not allow');
  if (isWeakDesKey(tmk.subarray(0, 8)) || isWeakDesKey(tmk.subarray(8))) throw new UsageError('tmk_weak', 'the TMK has a DES weak or semi-weak half');
  return tmk;
}

/** Wraps the TMK under the LMK once it matches `kcv`, replaces the terminal's, destroys its working keys; audited. */
async function installTmk(store: Store, hsm: Hsm, terminal: Terminal, tmk: Buffer, kcv: string): Promise<string> {
  let imported;
  try {
    imported = await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'tmk' }, tmk, kcv);
  } catch (err) {
    const reason = err instanceof HsmError ? err.code : 'error';
    await store.transact((trx) => new AuditLog(store.engine, hsm).append(trx, { actor: cliActor(), action: 'terminal.tmk_import', subject: terminal.id, outcome: 'failure', detail: { reason } }));
    throw err;
  }
  await store.transact(async (trx) => {
    await updateTerminal(trx, terminal.id, { tmk: imported.key, pik: null, mak: null, tdk: null });
    await new AuditLog(store.engine, hsm).append(trx, { actor: cliActor(), action: 'terminal.tmk_import', subject: terminal.id, outcome: 'success', detail: { tmk_kcv: imported.kcv } });
  });
  return imported.kcv;
}
