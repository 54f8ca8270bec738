import { createHash } from 'node:crypto';
import { cardVerificationValue, luhnCheckDigit, tdesEcb, withOddParity } from '../crypto/index.js';
import type { Hsm } from '../hsm/index.js';
import { simulatorTrack2, type IssuerSimulator, type NewCard } from '../issuer/index.js';
import { ensureSystemAccounts } from '../ledger/index.js';
import { createMerchant, createTerminal, merchantByMid, putOperator, terminalByTid, type OperatorRole } from '../merchants/index.js';
import { invalidateCommitted, type Store } from '../store/index.js';
import { ChipCardSimulator } from '../terminal/index.js';

/**
 * The demo: one merchant, N terminals with fixed, documented TMKs (demo mode only — a normal start
 * never uses fixed keys), operators with default passwords that must be changed, and test cards for
 * every outcome, like a card network's test cards. Seeding again seeds nothing twice.
 */
export const DEMO_MID = '898310054110001';
export const DEMO_MERCHANT_NAME = 'posgate 演示商户 (demo)';
export const DEMO_FIRST_TID = 30_000_001;

/** Terminal 30000001 uses the TMK of the protocol's worked examples; the others a TMK derived from their TID. */
export function demoTmk(tid: string): string {
  if (tid === '30000001') return 'CA5D92598DCA48CE8A4C76361A9269E9';
  const key = withOddParity(createHash('sha256').update(`posgate demo TMK ${tid}`).digest().subarray(0, 16));
  return key.toString('hex').toUpperCase();
}

export function demoTid(index: number): string {
  return String(DEMO_FIRST_TID + index);
}

export interface DemoOperator {
  readonly no: string;
  readonly role: OperatorRole;
  readonly password: string;
}

export const DEMO_OPERATORS: readonly DemoOperator[] = [
  { no: '99', role: 'admin', password: '83907142' },
  { no: '00', role: 'supervisor', password: '315926' },
  { no: '01', role: 'cashier', password: '2580' },
  { no: '02', role: 'cashier', password: '1397' },
];

/**
 * The issuer simulator's CVK for demo cards, fixed and documented so that the demo's card tracks can
 * be printed and swiped by any tool (demo mode only, like the demo TMKs). A system key of this name
 * holds it under the LMK.
 */
export const DEMO_CVK_NAME = 'demo_cvk';
export const DEMO_CVK = '0123456789ABCDEFFEDCBA9876543210';

/**
 * The issuer simulator's master key for demo chip cards' application cryptograms, fixed and
 * documented for the same reason: the software terminal personalises its simulated chips from it
 * (demoChipCard), so that their ARQCs verify at the issuer simulator. Demo mode only.
 */
export const DEMO_IMK_AC_NAME = 'demo_imk_ac';
export const DEMO_IMK_AC = '89ABCDEF01234567FEDCBA9876543210';

/** A demo card's chip, as the software terminal reads it (simulated; personalised from the public demo IMK); `atc`: its counter so far. */
export function demoChipCard(pan: string, psn = '01', atc = 0): ChipCardSimulator {
  return ChipCardSimulator.personalised(Buffer.from(DEMO_IMK_AC, 'hex'), pan, psn, atc);
}

/** The CVV on a demo card's stripe, computed with the demo CVK in clear (it is public). */
function demoStripeCvv(pan: string, expiry: string, serviceCode: string): string {
  const key = Buffer.from(DEMO_CVK, 'hex');
  return cardVerificationValue(tdesEcb(key.subarray(0, 8)), tdesEcb(key), pan, expiry, serviceCode);
}

export interface DemoCard {
  readonly pan: string;
  readonly expiry: string;
  /** the card's magnetic stripe as a reader sees it (`=` separator); swipes send it in field 35 */
  readonly track2: string;
  readonly pin: string;
  /** the response code a PIN sale of ¥12.34 gets */
  readonly expect: string;
  readonly description: string;
  readonly card?: Omit<NewCard, 'pan' | 'expiry' | 'serviceCode'>;
}

function pan(body: string): string {
  return body + luhnCheckDigit(body);
}

const GOOD = '2812';

type DemoCardSpec = Omit<DemoCard, 'track2'> & {
  /** the stripe carries no CVV (the protocol's worked-example card) */
  readonly noCvv?: boolean;
  /** the stripe's CVV is wrong: a counterfeit */
  readonly counterfeit?: boolean;
};

/** Test cards: PIN sales of ¥12.34 with the listed PIN get `expect` (swiped, keyed or inserted alike unless said). */
const CARDS: DemoCardSpec[] = [
  { pan: '6224242900000113', expiry: GOOD, pin: '123456', expect: '00', noCvv: true, description: 'debit, ¥50,000.00: approved (the protocol\'s worked-example card; no CVV on its stripe)', card: { kind: 'debit', status: 'active', balanceFen: 5_000_000, creditLimitFen: 0, pin: '123456' } },
  { pan: pan('622424290000020'), expiry: GOOD, pin: '123456', expect: '51', description: 'debit, ¥0.00: insufficient funds', card: { kind: 'debit', status: 'active', balanceFen: 0, creditLimitFen: 0, pin: '123456' } },
  { pan: pan('622424290000030'), expiry: GOOD, pin: '000000', expect: '55', description: 'debit whose PIN is 123456: any other PIN is wrong (3 a day, then 75)', card: { kind: 'debit', status: 'active', balanceFen: 5_000_000, creditLimitFen: 0, pin: '123456' } },
  { pan: pan('622424290000040'), expiry: GOOD, pin: '123456', expect: '75', description: 'debit whose PIN the issuer has blocked: PIN tries exceeded', card: { kind: 'debit', status: 'active', balanceFen: 5_000_000, creditLimitFen: 0, pin: '123456', pinLocked: true } },
  { pan: pan('622424290000050'), expiry: GOOD, pin: '123456', expect: '41', description: 'reported lost', card: { kind: 'debit', status: 'lost', balanceFen: 5_000_000, creditLimitFen: 0, pin: '123456' } },
  { pan: pan('622424290000060'), expiry: GOOD, pin: '123456', expect: '43', description: 'reported stolen', card: { kind: 'debit', status: 'stolen', balanceFen: 5_000_000, creditLimitFen: 0, pin: '123456' } },
  { pan: pan('622424290000070'), expiry: '2001', pin: '123456', expect: '54', description: 'expired January 2020', card: { kind: 'debit', status: 'active', balanceFen: 5_000_000, creditLimitFen: 0, pin: '123456' } },
  { pan: pan('625807000000080'), expiry: GOOD, pin: '888888', expect: '00', description: 'credit, limit ¥20,000.00, no PIN needed without CVM: password-free eligible (tap ≤ ¥1,000 without PIN)', card: { kind: 'credit', status: 'active', balanceFen: 0, creditLimitFen: 2_000_000, pin: '888888', pinRequiredWithoutCvm: false } },
  { pan: pan('625807000000090'), expiry: GOOD, pin: '888888', expect: '62', description: 'credit, blocked by the issuer: restricted card', card: { kind: 'credit', status: 'blocked', balanceFen: 0, creditLimitFen: 2_000_000, pin: '888888' } },
  { pan: pan('622424290000100'), expiry: GOOD, pin: '123456', expect: '14', noCvv: true, description: 'not issued: invalid card number' },
  { pan: pan('622424290000110'), expiry: GOOD, pin: '123456', expect: '05', counterfeit: true, description: 'counterfeit stripe: swiped, its CVV does not verify → do not honour (keyed or chip: approved)', card: { kind: 'debit', status: 'active', balanceFen: 5_000_000, creditLimitFen: 0, pin: '123456' } },
];

function stripe(c: DemoCardSpec): string {
  if (c.noCvv) return simulatorTrack2(c.pan, c.expiry, '101');
  const cvv = demoStripeCvv(c.pan, c.expiry, '101');
  return simulatorTrack2(c.pan, c.expiry, '101', c.counterfeit ? String((Number(cvv) + 500) % 1000).padStart(3, '0') : cvv);
}

export const DEMO_CARDS: readonly DemoCard[] = CARDS.map((spec) => {
  const { noCvv, counterfeit: _, ...c } = spec;
  return { ...c, track2: stripe(spec), ...(c.card ? { card: { ...c.card, imkAc: DEMO_IMK_AC_NAME, ...(noCvv ? {} : { cvk: DEMO_CVK_NAME }) } } : {}) };
});

/** Cards for load tests, one per demo terminal so that terminals do not queue on one card's row. PIN 123456. */
export function loadTestPan(index: number): string {
  return pan(`62242499${String(index).padStart(7, '0')}`);
}
export const LOAD_TEST_PIN = '123456';

/** A load-test card as a swipe presents it: PAN, expiry and its stripe (CVV under the demo CVK). */
export function loadTestCard(index: number): { readonly pan: string; readonly expiry: string; readonly track2: string } {
  const p = loadTestPan(index);
  return { pan: p, expiry: GOOD, track2: simulatorTrack2(p, GOOD, '101', demoStripeCvv(p, GOOD, '101')) };
}

export interface SeedResult {
  readonly merchantId: string;
  readonly terminals: readonly string[];
  readonly created: boolean;
}

export async function seedDemo(store: Store, hsm: Hsm, issuer: IssuerSimulator, terminalCount = 2): Promise<SeedResult> {
  return store.transact(async (trx) => {
    await ensureSystemAccounts(trx);
    let merchant = await merchantByMid(trx, DEMO_MID);
    const created = merchant === undefined;
    merchant ??= await createMerchant(trx, { mid: DEMO_MID, name: DEMO_MERCHANT_NAME, mcc: '5411' });
    for (const [name, usage, clear] of [[DEMO_CVK_NAME, 'cvk', DEMO_CVK], [DEMO_IMK_AC_NAME, 'imk-ac', DEMO_IMK_AC]] as const) {
      if (await trx.selectFrom('system_keys').select('name').where('name', '=', name).executeTakeFirst()) continue;
      const key = await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage }, Buffer.from(clear, 'hex'));
      await trx.insertInto('system_keys').values({ name, key_block: key.key, kcv: key.kcv, created_at: Date.now() }).execute();
    }
    const tids: string[] = [];
    // The documented default passwords are the same on every demo terminal: hash each once (argon2id is
    // deliberately slow), so that seeding thousands of load-test terminals takes seconds, not hours.
    let operatorHashes: string[] | undefined;
    for (let i = 0; i < terminalCount; i++) {
      const tid = demoTid(i);
      tids.push(tid);
      if (await terminalByTid(trx, tid)) continue;
      const terminal = await createTerminal(trx, { merchantId: merchant.id, tid, serial: `PGSIM-${String(i + 1).padStart(4, '0')}`, model: 'posgate soft terminal', name: `演示终端 ${i + 1}`, supervisorCheck: 'host' });
      const tmk = await hsm.importClearKey({ algorithm: 'tdes', length: 16, usage: 'tmk' }, Buffer.from(demoTmk(tid), 'hex'));
      await trx.updateTable('terminals').set({ tmk: tmk.key }).where('id', '=', terminal.id).execute();
      operatorHashes ??= await Promise.all(DEMO_OPERATORS.map((op) => hsm.hashPassword(op.password)));
      for (const [k, op] of DEMO_OPERATORS.entries()) await putOperator(trx, terminal.id, op.no, operatorHashes[k]!, true);
    }
    for (const c of DEMO_CARDS) {
      if (!c.card) continue;
      const existing = await trx.selectFrom('cards').select(['id', 'imk_ac']).where('pan_hash', '=', hsm.panHash(c.pan)).executeTakeFirst();
      if (!existing) await issuer.issueCard(trx, { pan: c.pan, expiry: c.expiry, serviceCode: '101', ...c.card });
      // demo databases made before chip keys existed: their cards get the chip application now
      else if (existing.imk_ac === null) {
        invalidateCommitted(trx); // written around the cards the issuer keeps
        await trx.updateTable('cards').set({ imk_ac: DEMO_IMK_AC_NAME }).where('id', '=', existing.id).execute();
      }
    }
    for (let i = 0; i < terminalCount; i++) {
      const loadPan = loadTestPan(i);
      const exists = await trx.selectFrom('cards').select('id').where('pan_hash', '=', hsm.panHash(loadPan)).executeTakeFirst();
      if (!exists) await issuer.issueCard(trx, { pan: loadPan, expiry: GOOD, serviceCode: '101', kind: 'debit', status: 'active', balanceFen: 1_000_000_000_000, creditLimitFen: 0, pin: LOAD_TEST_PIN, cvk: DEMO_CVK_NAME, imkAc: DEMO_IMK_AC_NAME });
    }
    return { merchantId: merchant.id, terminals: tids, created };
  });
}

/** What `posgate demo info --json` prints: everything a tool needs to drive the demo. */
export interface DemoInfo {
  readonly terminals: readonly { tid: string; mid: string; serial: string | null; tmk: string; operators: readonly DemoOperator[] }[];
  readonly cards: readonly { pan: string; expiry: string; track2: string; pin: string; expect: string; description: string }[];
}

export async function demoInfo(store: Store): Promise<DemoInfo> {
  const merchant = await merchantByMid(store.db, DEMO_MID);
  const terminals = merchant ? await store.db.selectFrom('terminals').select(['tid', 'serial']).where('merchant_id', '=', merchant.id).orderBy('tid').execute() : [];
  return {
    terminals: terminals.map((t) => ({
      tid: t.tid,
      mid: DEMO_MID,
      serial: t.serial,
      tmk: demoTmk(t.tid),
      operators: DEMO_OPERATORS.map((o) => ({ no: o.no, role: o.role, password: o.password })),
    })),
    cards: DEMO_CARDS.map((c) => ({ pan: c.pan, expiry: c.expiry, track2: c.track2, pin: c.pin, expect: c.expect, description: c.description })),
  };
}
