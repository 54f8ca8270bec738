import type { Transaction } from 'kysely';
import type { CardsTable, Database, Engine } from '../store/index.js';
import { beforeCommit, CommittedRows, deferWrite, param, prepared, type DeferredWrite, type Prepared } from '../store/index.js';

type Trx = Transaction<Database>;
type Card = CardsTable;

const BY_HASH = prepared((db) => db.selectFrom('cards').selectAll().where('pan_hash', '=', param(0)));
const BY_HASH_LOCKED = prepared((db) => db.selectFrom('cards').selectAll().where('pan_hash', '=', param(0)).forUpdate());
const BY_ID = prepared((db) => db.selectFrom('cards').selectAll().where('id', '=', param(0)));
const BY_ID_LOCKED = prepared((db) => db.selectFrom('cards').selectAll().where('id', '=', param(0)).forUpdate());
const WRITE_ONE = prepared((db) =>
  db.updateTable('cards').set({ balance_fen: param(0), held_fen: param(1), pin_tries: param(2), pin_tries_day: param(3), last_atc: param(4) }).where('id', '=', param(5)),
);

/** Cards kept between transactions (by PAN hash and by id, two entries each): far more than the simulator's test cards. */
const CARDS_KEPT_MAX = 100_000;

interface Loaded {
  readonly byId: Map<string, Card>;
  readonly byHash: Map<string, Card>;
  readonly changed: Set<Card>;
}

/**
 * The issuer simulator's cards as one transaction sees them: each card is read once (its row
 * locked on PostgreSQL until COMMIT), every unit of the transaction then works on that one copy,
 * and each changed card is written once, just before COMMIT — on PostgreSQL all of them in one
 * statement. One copy per card means no unit can act on a balance or a PIN try count that another
 * unit of the same transaction has already changed.
 *
 * On SQLite each card also stays as the last transaction committed it (CommittedRows), so a card
 * is read from the database once, not once per group: the read was 7 µs of a sale's main-thread
 * time (`npm run bench:sql`). A transaction works on its own copy of the kept row.
 */
export class CardsInTransaction {
  readonly #byTrx = new WeakMap<object, Loaded>();
  readonly #committed = new CommittedRows<Card>(CARDS_KEPT_MAX);

  constructor(private readonly engine: Engine) {}

  async byHash(trx: Trx, panHash: string): Promise<Card | undefined> {
    return this.find(trx, this.loaded(trx).byHash.get(panHash), this.engine === 'postgres' ? BY_HASH_LOCKED : BY_HASH, panHash);
  }

  async byId(trx: Trx, id: string): Promise<Card | undefined> {
    return this.find(trx, this.loaded(trx).byId.get(id), this.engine === 'postgres' ? BY_ID_LOCKED : BY_ID, id);
  }

  private async find(trx: Trx, known: Card | undefined, query: Prepared<Card>, key: string): Promise<Card | undefined> {
    if (known) return known;
    const kept = this.#committed.get(trx, key);
    if (kept) return this.keep(this.loaded(trx), { ...kept });
    const row = await query.first(trx, [key]);
    return row && this.keep(this.loaded(trx), row);
  }

  /** Reads (and locks, in id order) the cards of many units in one statement. */
  async readAhead(trx: Trx, panHashes: readonly string[]): Promise<void> {
    const loaded = this.loaded(trx);
    const wanted = panHashes.filter((h) => !loaded.byHash.has(h));
    if (wanted.length === 0) return;
    let q = trx.selectFrom('cards').selectAll().where('pan_hash', 'in', wanted).orderBy('id');
    if (this.engine === 'postgres') q = q.forUpdate();
    for (const row of await q.execute()) this.keep(loaded, row);
  }

  /** The card (a copy this transaction handed out) has changed: it is written before COMMIT. */
  changed(trx: Trx, card: Card): void {
    const loaded = this.loaded(trx);
    if (loaded.byId.get(card.id) !== card) throw new Error('a card changed that this transaction did not read');
    loaded.changed.add(card);
  }

  private loaded(trx: Trx): Loaded {
    let loaded = this.#byTrx.get(trx);
    if (!loaded) {
      const fresh: Loaded = { byId: new Map(), byHash: new Map(), changed: new Set() };
      // PostgreSQL: the changed cards go into the group's final statement; SQLite: written here.
      if (!deferWrite(trx, () => changedCards(fresh))) beforeCommit(trx, () => this.write(trx, fresh));
      this.#committed.keepAfterCommit(trx, () => keptEntries(fresh));
      this.#byTrx.set(trx, (loaded = fresh));
    }
    return loaded;
  }

  private keep(loaded: Loaded, row: Card): Card {
    const known = loaded.byId.get(row.id);
    if (known) return known;
    loaded.byId.set(row.id, row);
    loaded.byHash.set(row.pan_hash, row);
    return row;
  }

  private async write(trx: Trx, loaded: Loaded): Promise<void> {
    for (const c of loaded.changed) await WRITE_ONE.execute(trx, [c.balance_fen, c.held_fen, c.pin_tries, c.pin_tries_day, c.last_atc, c.id]);
  }
}

/** Every card a committed transaction held, under its PAN hash and its id. */
function* keptEntries(loaded: Loaded): Iterable<readonly [string, Card]> {
  for (const card of loaded.byId.values()) {
    yield [card.pan_hash, card];
    yield [card.id, card];
  }
}

/** The changed cards as one UPDATE … FROM json_to_recordset, for the group's final statement. */
function changedCards(loaded: Loaded): DeferredWrite | undefined {
  if (loaded.changed.size === 0) return undefined;
  return {
    name: 'card_changes',
    statement: (rows) => `update cards set balance_fen = v.b, held_fen = v.h, pin_tries = v.t, pin_tries_day = v.d, last_atc = v.a from json_to_recordset(${rows}) as v(id text, b bigint, h bigint, t integer, d text, a integer) where cards.id = v.id`,
    rows: [...loaded.changed].map((c) => ({ id: c.id, b: c.balance_fen, h: c.held_fen, t: c.pin_tries, d: c.pin_tries_day, a: c.last_atc })),
  };
}
