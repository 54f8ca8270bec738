import { randomInt } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { arqcData } from '../crypto/index.js';
import type { ChipCryptogram, Hsm, KeyBlock, PinInput } from '../hsm/index.js';
import type { CardsTable, Database, Engine } from '../store/index.js';
import { invalidateCommitted, newId, type BatchRead } from '../store/index.js';
import { CardsInTransaction } from './cards-in-transaction.js';

/**
 * THE ISSUER SIMULATOR. posgate is an acquirer; real authorisation happens at the card issuer.
 * This module stands in for the issuers so that the platform runs end to end: it keeps test cards
 * (PAN only as hash + ciphertext + masked form, PIN only as a Visa PVV), their balances or credit
 * limits, holds for pre-authorisations, a daily PIN try counter and the CVK behind each stripe's
 * CVV, and answers like an issuer would. It is a complete simulator with its own tests, not a
 * stub; it is never a real issuer.
 */
export type CardKind = 'debit' | 'credit';
export type CardStatus = 'active' | 'lost' | 'stolen' | 'expired' | 'blocked';

export interface NewCard {
  readonly pan: string;
  readonly expiry: string; // YYMM
  readonly serviceCode: string;
  readonly kind: CardKind;
  readonly status: CardStatus;
  /** debit: the funds; credit: the amount already owed */
  readonly balanceFen: number;
  readonly creditLimitFen: number;
  readonly pin: string;
  readonly pinRequiredWithoutCvm?: boolean;
  readonly cardOrg?: string;
  readonly issuerId?: string;
  /** the issuer has blocked the PIN: every PIN attempt gets 75 */
  readonly pinLocked?: boolean;
  /** the system key (usage cvk) that computes the CVV on the stripe; absent: the stripe carries no CVV */
  readonly cvk?: string;
  /** the system key (usage imk-ac) the chip's cryptogram key is derived from; absent: no chip application */
  readonly imkAc?: string;
}

/** What a chip request carried: field 55's data objects by tag, and the PAN sequence number (field 23). */
export interface ChipRequest {
  readonly pan: string;
  /** 2 digits; "00" when the request had no field 23 */
  readonly psn: string;
  readonly tags: ReadonlyMap<string, Buffer>;
  readonly amountFen: number;
}

/** A cryptogram the issuer verified, kept to answer it (ARPC) once the response code is known. */
export interface VerifiedChip {
  readonly imk: KeyBlock;
  readonly cryptogram: ChipCryptogram;
}

/** 9F27 bits 8–7 = 10: the card asks to go online (ARQC). */
const CID_ARQC = 0x80;

/** Track 2 as the host reads it, after the service code. */
export interface TrackData {
  readonly expiry: string;
  readonly serviceCode: string;
  readonly discretionary: string;
}

export type Card = CardsTable;

export const PIN_TRIES_MAX = 3;

/** How long an issuer keeps a pre-authorisation's hold before giving the funds back (protocol §7.1: `preauth.valid_days`). */
export const HOLD_DAYS = 30;

const DAY_MS = 86_400_000;

export type PinCheck = 'ok' | 'wrong' | 'exceeded';

export type IssuerOperation =
  | { readonly kind: 'purchase'; readonly amountFen: number }
  | { readonly kind: 'preauth'; readonly amountFen: number }
  | { readonly kind: 'balance' };

export type IssuerResult =
  | { readonly approved: true; readonly authCode: string; readonly holdId?: string; readonly availableFen: number }
  | { readonly approved: false; readonly responseCode: string };

type Trx = Transaction<Database>;

/**
 * The simulator's stripe layout: track 2 = PAN `=` YYMM, service code, then discretionary data that
 * begins with the 3-digit CVV and is padded with zeros to 9 digits (the length of the protocol's
 * worked example, whose card carries no CVV: nine zeros).
 */
export function simulatorTrack2(pan: string, expiry: string, serviceCode: string, cvv?: string): string {
  return `${pan}=${expiry}${serviceCode}${(cvv ?? '').padEnd(9, '0')}`;
}

function availableFen(card: Card): number {
  return card.kind === 'debit' ? card.balance_fen - card.held_fen : card.credit_limit_fen - card.balance_fen - card.held_fen;
}

/** Spending moves a debit balance down and a credit balance (amount owed) up. */
function spendDelta(card: Card, amountFen: number): number {
  return card.kind === 'debit' ? -amountFen : amountFen;
}

function authCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/** A card as lists show it: never its PAN, only the masked form; what it may spend now. */
export interface CardSummary {
  readonly id: string;
  readonly pan_masked: string;
  readonly expiry: string;
  readonly kind: string;
  readonly status: string;
  readonly card_org: string;
  /** debit: the funds; credit: the amount owed */
  readonly balance_fen: number;
  readonly credit_limit_fen: number;
  readonly held_fen: number;
  readonly available_fen: number;
  /** the issuer has blocked its PIN */
  readonly pin_blocked: boolean;
}

export async function cardSummaries(db: Kysely<Database>): Promise<CardSummary[]> {
  const cards = await db.selectFrom('cards').selectAll().orderBy('created_at').orderBy('id').execute();
  return cards.map((c) => ({
    id: c.id,
    pan_masked: c.pan_masked,
    expiry: c.expiry,
    kind: c.kind,
    status: c.status,
    card_org: c.card_org,
    balance_fen: c.balance_fen,
    credit_limit_fen: c.credit_limit_fen,
    held_fen: c.held_fen,
    available_fen: availableFen(c),
    pin_blocked: c.pin_tries_day === 'locked',
  }));
}

/** Sets a card's status (a card reported lost, found again…) or its balance; false when there is no such card. */
export async function updateCard(trx: Trx, id: string, patch: { readonly status?: CardStatus; readonly balanceFen?: number }): Promise<boolean> {
  // written around the cards a host keeps (CardsInTransaction): in the host's own process they are read again
  invalidateCommitted(trx);
  const r = await trx
    .updateTable('cards')
    .set({ ...(patch.status ? { status: patch.status } : {}), ...(patch.balanceFen !== undefined ? { balance_fen: patch.balanceFen } : {}) })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export class IssuerSimulator {
  /** system keys by name (CVKs, issuer master keys), read once */
  private readonly keys = new Map<string, KeyBlock>();
  /** every card read and write of a transaction goes through its one copy of the card */
  private readonly cards: CardsInTransaction;

  /** The cards of a group's units in one statement, locked in id order (a unit announces its PAN hash). */
  readonly cardRead: BatchRead = { load: (trx, panHashes) => this.cards.readAhead(trx, panHashes) };

  /** `holdDays`: a hold older than this is released at the card's next authorisation, as an issuer's nightly run would. */
  constructor(
    private readonly hsm: Hsm,
    private readonly pvk: KeyBlock,
    engine: Engine,
    private readonly holdDays = HOLD_DAYS,
  ) {
    this.cards = new CardsInTransaction(engine);
  }

  async issueCard(trx: Trx, card: NewCard, now = Date.now()): Promise<string> {
    const id = newId('card');
    const pan = this.hsm.protectPan(card.pan);
    const pvki = '1';
    await trx
      .insertInto('cards')
      .values({
        id,
        pan_hash: pan.hash,
        pan_enc: pan.ciphertext,
        pan_masked: pan.masked,
        expiry: card.expiry,
        service_code: card.serviceCode,
        kind: card.kind,
        status: card.status,
        balance_fen: card.balanceFen,
        credit_limit_fen: card.creditLimitFen,
        held_fen: 0,
        pvv: await this.hsm.issuePvv(card.pan, card.pin, { pvk: this.pvk, pvki }),
        pvki,
        pin_tries: 0,
        pin_tries_day: card.pinLocked ? 'locked' : '',
        pin_required_without_cvm: card.pinRequiredWithoutCvm === false ? 0 : 1,
        card_org: card.cardOrg ?? 'CUP',
        issuer_id: card.issuerId ?? '01020000',
        cvk: card.cvk ?? null,
        imk_ac: card.imkAc ?? null,
        last_atc: null,
        created_at: now,
      })
      .execute();
    return id;
  }

  /** The card by PAN hash, locked for this transaction on PostgreSQL. */
  async findCard(trx: Trx, panHash: string): Promise<Card | undefined> {
    return this.cards.byHash(trx, panHash);
  }

  /** The card by id, locked for this transaction on PostgreSQL. */
  async cardById(trx: Trx, id: string): Promise<Card | undefined> {
    return this.cards.byId(trx, id);
  }

  /** Card checks of protocol §7 step 14 (after Luhn): lost 41, stolen 43, expired 54. */
  cardStatusCode(card: Card, requestExpiry: string | undefined, currentYymm: string): string | null {
    if (card.status === 'lost') return '41';
    if (card.status === 'stolen') return '43';
    if (card.status === 'expired' || card.expiry < currentYymm || (requestExpiry !== undefined && requestExpiry < currentYymm)) return '54';
    return null;
  }

  /**
   * The card's stripe: a track whose CVV (the first 3 digits of the discretionary data) does not
   * verify under the card's CVK is a counterfeit or a misread → false (the host answers 05). A card
   * without a CVK on file has no CVV to check.
   */
  async verifyTrack(trx: Trx, card: Card, pan: string, track: TrackData): Promise<boolean> {
    if (card.cvk === null) return true;
    const cvk = await this.keyNamed(trx, card.cvk);
    if (!cvk || !/^[0-9]{3}/.test(track.discretionary)) return false;
    return this.hsm.verifyCvv(cvk, { pan, expiry: track.expiry, serviceCode: track.serviceCode }, track.discretionary.slice(0, 3));
  }

  /**
   * The chip's application cryptogram (EMV, crypto/emv.ts): the card must ask to go online (9F27
   * = ARQC), for the amount of this request (9F02), with an ATC above every one seen before from
   * this card, and an ARQC that verifies under the key the card derives from its issuer master key
   * → the verified cryptogram, for the ARPC (and the ATC is recorded); otherwise `failed` (a cloned
   * or tampered chip, a replayed cryptogram, or data changed on the way: the host answers 05). A
   * card without a chip application on file has no cryptogram to check (`no_chip`).
   */
  async verifyChip(trx: Trx, card: Card, chip: ChipRequest): Promise<VerifiedChip | 'no_chip' | 'failed'> {
    if (card.imk_ac === null) return 'no_chip';
    const imk = await this.keyNamed(trx, card.imk_ac);
    const cid = chip.tags.get('9F27');
    const amount = chip.tags.get('9F02');
    const arqc = chip.tags.get('9F26');
    const atc = chip.tags.get('9F36');
    const data = arqcData((tag) => chip.tags.get(tag));
    if (!imk || !cid || cid.length !== 1 || (cid[0]! & 0xc0) !== CID_ARQC || !amount || !arqc || !atc || !data) return 'failed';
    if (amount.toString('hex') !== String(chip.amountFen).padStart(12, '0') || atc.length !== 2) return 'failed';
    const counter = atc.readUInt16BE(0);
    if (card.last_atc !== null && counter <= card.last_atc) return 'failed';
    const cryptogram: ChipCryptogram = { pan: chip.pan, psn: chip.psn, atc, data, arqc };
    if (!(await this.hsm.verifyArqc(imk, cryptogram))) return 'failed';
    card.last_atc = counter;
    this.cards.changed(trx, card);
    return { imk, cryptogram };
  }

  /** Issuer authentication data (tag 91) answering a verified ARQC: ARPC ‖ ARC, the ARC being the response code in ASCII. */
  async issuerAuthentication(chip: VerifiedChip, responseCode: string): Promise<Buffer> {
    const arc = Buffer.from(responseCode, 'latin1');
    return Buffer.concat([await this.hsm.generateArpc(chip.imk, chip.cryptogram, arc), arc]);
  }

  private async keyNamed(trx: Trx, name: string): Promise<KeyBlock | undefined> {
    let block = this.keys.get(name);
    if (!block) {
      const row = await trx.selectFrom('system_keys').select('key_block').where('name', '=', name).executeTakeFirst();
      if (!row) return undefined;
      block = row.key_block as KeyBlock;
      this.keys.set(name, block);
    }
    return block;
  }

  /**
   * Verifies a PIN against the card's PVV, counting wrong tries per day: when the day's wrong
   * tries already reached the limit → exceeded (75), a wrong PIN → wrong (55) or, at the attempt
   * that reaches the limit, exceeded; a correct PIN resets the count.
   */
  async verifyPin(trx: Trx, card: Card, input: PinInput, day: string): Promise<PinCheck> {
    // 'locked' marks a card whose PIN the issuer has blocked for good (a demo card shows this outcome)
    const tries = card.pin_tries_day === 'locked' ? PIN_TRIES_MAX : card.pin_tries_day === day ? card.pin_tries : 0;
    if (tries >= PIN_TRIES_MAX) return 'exceeded';
    const ok = await this.hsm.verifyPvv(input, { pvk: this.pvk, pvki: card.pvki, pvv: card.pvv });
    const next = ok ? 0 : tries + 1;
    if (card.pin_tries_day !== 'locked' && (next !== card.pin_tries || day !== card.pin_tries_day)) {
      card.pin_tries = next;
      card.pin_tries_day = day;
      this.cards.changed(trx, card);
    }
    if (ok) return 'ok';
    return next >= PIN_TRIES_MAX ? 'exceeded' : 'wrong';
  }

  /** Whether the issuer insists on a PIN when none came and the acquirer did not apply password-free rules. */
  requiresPin(card: Card): boolean {
    return card.kind === 'debit' || card.pin_required_without_cvm === 1;
  }

  async authorize(trx: Trx, card: Card, operation: IssuerOperation, now = Date.now()): Promise<IssuerResult> {
    if (card.status === 'blocked') return { approved: false, responseCode: '62' };
    await this.expireHolds(trx, card, now);
    const available = availableFen(card);
    if (operation.kind === 'balance') return { approved: true, authCode: authCode(), availableFen: available };
    if (operation.amountFen > available) return { approved: false, responseCode: '51' };
    if (operation.kind === 'purchase') {
      this.adjust(trx, card, spendDelta(card, operation.amountFen), 0);
      return { approved: true, authCode: authCode(), availableFen: available - operation.amountFen };
    }
    const holdId = newId('hold');
    await trx.insertInto('card_holds').values({ id: holdId, card_id: card.id, amount_fen: operation.amountFen, status: 'held', created_at: now }).execute();
    this.adjust(trx, card, 0, operation.amountFen);
    return { approved: true, authCode: authCode(), holdId, availableFen: available - operation.amountFen };
  }

  /** Completion of a pre-authorisation: the hold goes, the completion amount is spent (may exceed the hold). */
  async complete(trx: Trx, card: Card, holdId: string, amountFen: number): Promise<IssuerResult> {
    const hold = await trx.selectFrom('card_holds').selectAll().where('id', '=', holdId).executeTakeFirst();
    if (!hold || hold.status !== 'held') return { approved: false, responseCode: '12' };
    if (amountFen > availableFen(card) + hold.amount_fen) return { approved: false, responseCode: '51' };
    await trx.updateTable('card_holds').set({ status: 'completed' }).where('id', '=', holdId).execute();
    this.adjust(trx, card, spendDelta(card, amountFen), -hold.amount_fen);
    return { approved: true, authCode: authCode(), availableFen: availableFen(card) + hold.amount_fen - amountFen };
  }

  /** Undoes a completion (completion void or reversal): the amount comes back and the hold is restored. */
  async uncomplete(trx: Trx, card: Card, holdId: string, amountFen: number): Promise<void> {
    const hold = await trx.selectFrom('card_holds').selectAll().where('id', '=', holdId).executeTakeFirstOrThrow();
    await trx.updateTable('card_holds').set({ status: 'held' }).where('id', '=', holdId).execute();
    this.adjust(trx, card, -spendDelta(card, amountFen), hold.amount_fen);
  }

  /** Completes a hold again without re-checking funds (a reversed completion void puts back what was). */
  async recomplete(trx: Trx, card: Card, holdId: string, amountFen: number): Promise<void> {
    const hold = await trx.selectFrom('card_holds').selectAll().where('id', '=', holdId).executeTakeFirstOrThrow();
    await trx.updateTable('card_holds').set({ status: 'completed' }).where('id', '=', holdId).execute();
    this.adjust(trx, card, spendDelta(card, amountFen), -hold.amount_fen);
  }

  /** Releases a pre-authorisation hold (pre-auth void or reversal). */
  async releaseHold(trx: Trx, card: Card, holdId: string): Promise<void> {
    const hold = await trx.selectFrom('card_holds').selectAll().where('id', '=', holdId).executeTakeFirstOrThrow();
    if (hold.status !== 'held') return;
    await trx.updateTable('card_holds').set({ status: 'released' }).where('id', '=', holdId).execute();
    this.adjust(trx, card, 0, -hold.amount_fen);
  }

  /**
   * Holds older than `holdDays` go back to the cardholder (status `expired`): a pre-authorisation
   * nobody completed must not keep the funds for good. The host refuses a completion of such a
   * pre-authorisation with 12 by the same age rule, so an expired hold is never completed; a later
   * pre-auth void finds it not `held` and releases nothing twice. Cards without holds pay nothing.
   */
  private async expireHolds(trx: Trx, card: Card, now: number): Promise<void> {
    if (card.held_fen === 0) return;
    const expired = await trx
      .selectFrom('card_holds')
      .select(['id', 'amount_fen'])
      .where('card_id', '=', card.id)
      .where('status', '=', 'held')
      .where('created_at', '<', now - this.holdDays * DAY_MS)
      .execute();
    if (expired.length === 0) return;
    await trx.updateTable('card_holds').set({ status: 'expired' }).where('id', 'in', expired.map((h) => h.id)).execute();
    this.adjust(trx, card, 0, -expired.reduce((sum, h) => sum + Number(h.amount_fen), 0));
  }

  /** Restores a released hold (a reversed pre-auth void). */
  async restoreHold(trx: Trx, card: Card, holdId: string): Promise<void> {
    const hold = await trx.selectFrom('card_holds').selectAll().where('id', '=', holdId).executeTakeFirstOrThrow();
    if (hold.status !== 'released') return;
    await trx.updateTable('card_holds').set({ status: 'held' }).where('id', '=', holdId).execute();
    this.adjust(trx, card, 0, hold.amount_fen);
  }

  /** Money back to the card: a refund, a void or a reversal of a purchase. */
  async credit(trx: Trx, card: Card, amountFen: number): Promise<void> {
    this.adjust(trx, card, -spendDelta(card, amountFen), 0);
  }

  /** Spends again what a reversed void had given back. */
  async debit(trx: Trx, card: Card, amountFen: number): Promise<void> {
    this.adjust(trx, card, spendDelta(card, amountFen), 0);
  }

  private adjust(trx: Trx, card: Card, balanceDelta: number, heldDelta: number): void {
    card.balance_fen += balanceDelta;
    card.held_fen += heldDelta;
    this.cards.changed(trx, card);
  }
}
