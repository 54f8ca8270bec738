import { Command, Option } from 'commander';
import { luhnValid, maskPan } from '../crypto/index.js';
import { cardSummaries, updateCard, type CardKind, type CardStatus } from '../issuer/index.js';
import { openIssuer } from '../platform/platform.js';
import { formatYuan } from '../terminal/index.js';
import { emit, parseYuan, UsageError, type Io } from './output.js';
import { DEFAULT_DB, storeHsm, withStore } from './platform-commands.js';
import { Prompter } from './prompter.js';

/**
 * `posgate cards`: the ISSUER SIMULATOR's test cards. An engineer with physical test cards puts
 * them in front of real terminals by adding them here: PAN, expiry and PIN as printed on the card's
 * letter (the PIN kept only as a PVV). Such a card's stripe CVV and chip cryptogram are not
 * checked: the simulator does not hold its issuer's keys.
 */

type Run = (action: () => Promise<void> | void, json: () => boolean) => Promise<void>;

const STATUSES: readonly CardStatus[] = ['active', 'lost', 'stolen', 'expired', 'blocked'];

/** The PAN and PIN: prompted for at a keyboard (the PIN without echo), else two lines on standard input. */
async function panAndPin(io: Io): Promise<{ pan: string; pin: string }> {
  if (!process.stdin.isTTY) {
    const [pan = '', pin = ''] = (await io.readStdin()).split(/\r?\n/).map((l) => l.trim());
    return { pan, pin };
  }
  const p = new Prompter(io);
  try {
    return { pan: await p.ask('card number (PAN): '), pin: await p.secret('PIN (not shown): ') };
  } finally {
    p.close();
  }
}

export function cardsCommand(io: Io, run: Run): Command {
  const cards = new Command('cards').description('the issuer simulator\'s test cards: add your own, list them, report one lost');
  cards
    .command('add')
    .description('issue a test card at the issuer simulator: its PAN and PIN on standard input (two lines) or typed at the prompts, never on the command line')
    .requiredOption('--expiry <YYMM>', 'expiry date, as on the card')
    .addOption(new Option('--kind <kind>', 'debit (a PIN always needed) or credit').choices(['debit', 'credit']).default('debit'))
    .option('--balance <yuan>', 'debit: the funds; credit: the amount already owed', '10000.00')
    .option('--credit-limit <yuan>', 'credit: the limit', '0')
    .option('--service-code <code>', 'service code on the stripe', '101')
    .addOption(new Option('--org <org>', 'card organisation (field 63)').choices(['CUP', 'VIS', 'MCC', 'JCB', 'AMX', 'DCC']).default('CUP'))
    .option('--db <url>', 'database', DEFAULT_DB)
    .option('--lmk-file <path>', 'LMK key file (default: beside an SQLite database; or POSGATE_LMK)')
    .option('--json', 'print one JSON object')
    .action((o: { expiry: string; kind: CardKind; balance: string; creditLimit: string; serviceCode: string; org: string; db: string; lmkFile?: string; json?: boolean }) =>
      run(async () => {
        if (!/^[0-9]{2}(0[1-9]|1[0-2])$/.test(o.expiry)) throw new UsageError('invalid_expiry', '--expiry is YYMM, e.g. 2812');
        if (!/^[0-9]{3}$/.test(o.serviceCode)) throw new UsageError('invalid_service_code', 'a service code is 3 digits');
        const balanceFen = parseYuan(o.balance);
        const creditLimitFen = parseYuan(o.creditLimit);
        if (o.kind === 'credit' && creditLimitFen === 0) throw new UsageError('invalid_credit_limit', 'a credit card needs --credit-limit');
        const { pan, pin } = await panAndPin(io);
        if (!/^[0-9]{13,19}$/.test(pan) || !luhnValid(pan)) throw new UsageError('invalid_card', 'a card number is 13 to 19 digits whose last one checks (Luhn)');
        if (!/^[0-9]{4,12}$/.test(pin)) throw new UsageError('invalid_pin', 'a PIN is 4 to 12 digits');
        await withStore(o.db, async (store) => {
          const hsm = storeHsm(store, o.lmkFile);
          const issuer = await openIssuer(store, hsm);
          const masked = maskPan(pan);
          const id = await store.transact(async (trx) => {
            if (await issuer.findCard(trx, hsm.panHash(pan))) throw new UsageError('card_exists', `card ${masked} is already issued`);
            return issuer.issueCard(trx, { pan, expiry: o.expiry, serviceCode: o.serviceCode, kind: o.kind, status: 'active', balanceFen, creditLimitFen, pin, cardOrg: o.org });
          });
          emit(io, Boolean(o.json), { id, pan_masked: masked }, () => [`card ${masked} issued (${id}): ${o.kind}, expiry ${o.expiry}, ${o.kind === 'debit' ? `funds RMB ${formatYuan(balanceFen)}` : `limit RMB ${formatYuan(creditLimitFen)}`}`]);
        });
      }, () => Boolean(o.json)),
    );
  cards
    .command('list')
    .description('every card: masked number, status, what it may spend')
    .option('--db <url>', 'database', DEFAULT_DB)
    .option('--json', 'print one JSON object')
    .action((o: { db: string; json?: boolean }) =>
      run(() =>
        withStore(o.db, async (store) => {
          const list = await cardSummaries(store.db);
          emit(io, Boolean(o.json), list, () =>
            list.length === 0
              ? ['no cards']
              : list.map((c) => `${c.id}  ${c.pan_masked.padEnd(19)} ${c.expiry}  ${c.card_org}  ${c.kind.padEnd(6)} ${c.status.padEnd(7)} available RMB ${formatYuan(c.available_fen).padStart(16)}${c.pin_blocked ? '  PIN blocked' : ''}`),
          );
        }), () => Boolean(o.json)),
    );
  cards
    .command('set')
    .description('change a card: report it lost or stolen, block it, make it active again, set its balance')
    .requiredOption('--id <id>', 'the card\'s id, from cards list')
    .addOption(new Option('--status <status>', 'its new status').choices([...STATUSES]))
    .option('--balance <yuan>', 'debit: its funds; credit: the amount owed')
    .option('--db <url>', 'database', DEFAULT_DB)
    .option('--json', 'print one JSON object')
    .action((o: { id: string; status?: CardStatus; balance?: string; db: string; json?: boolean }) =>
      run(() =>
        withStore(o.db, async (store) => {
          if (o.status === undefined && o.balance === undefined) throw new UsageError('nothing_to_change', 'give --status or --balance');
          const balanceFen = o.balance === undefined ? undefined : parseYuan(o.balance);
          const found = await store.transact((trx) => updateCard(trx, o.id, { ...(o.status ? { status: o.status } : {}), ...(balanceFen !== undefined ? { balanceFen } : {}) }));
          if (!found) throw new UsageError('unknown_card', `no card ${o.id}`);
          emit(io, Boolean(o.json), { id: o.id, ...(o.status ? { status: o.status } : {}), ...(balanceFen !== undefined ? { balance_fen: balanceFen } : {}) }, () => [`card ${o.id} changed${o.status ? `: ${o.status}` : ''}${balanceFen !== undefined ? `, balance RMB ${formatYuan(balanceFen)}` : ''}`]);
        }), () => Boolean(o.json)),
    );
  return cards;
}
