import { CompiledQuery, PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import { readAhead, type ReadHint } from './batch-read.js';
import { commitFailedCleanly, OutcomeInDoubtError, storeUnavailable } from './failures.js';
import { param, prepared, sqliteConnectionOf, type Prepared } from './prepared.js';

export type Work<T> = (trx: Transaction<Database>) => Promise<T>;

interface Pending {
  readonly work: Work<unknown>;
  readonly hints: readonly ReadHint[];
  /** runs in a transaction of its own (see UnitOptions) */
  readonly alone: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** At most this many units share one transaction, so one commit never holds up the host for long. */
export const GROUP_UNITS_MAX = 512;

/**
 * Additions to account balances, collected while a transaction's units run and written once per
 * account just before COMMIT (in account order, so concurrent transactions never deadlock on them).
 * The hottest rows of the ledger — the card-funds and merchant accounts every sale touches — are
 * then locked for the length of one statement per batch instead of for the whole transaction.
 */
/** Tables whose rows a unit may hand over for a multi-row INSERT at the end of the transaction, in that order. */
export type DeferredTable = 'transactions' | 'postings' | 'posting_lines';
const DEFERRED_ORDER: readonly DeferredTable[] = ['transactions', 'postings', 'posting_lines'];
const ROWS_PER_INSERT = 100;

interface Scope {
  committed: Map<string, number>;
  unit: Map<string, number>;
  /** whether rows wait for the end of the transaction (PostgreSQL) or go in at once (SQLite) */
  deferRows: boolean;
  rows: Map<DeferredTable, Record<string, unknown>[]>;
  unitRows: Map<DeferredTable, Record<string, unknown>[]>;
  /** writes a domain holds back until the end of the transaction (see beforeCommit) */
  beforeCommit: (() => Promise<void>)[];
  /** what a domain does once this transaction has committed (see afterCommit) */
  afterCommit: (() => void)[];
  /** the committer's cache epoch for this transaction (see committedEpoch); undefined where nothing is kept across transactions */
  readonly epoch: number | undefined;
  /** a write in this transaction went around the domains' caches (see invalidateCommitted) */
  invalidates: boolean;
  /** writes a domain hands over for the group's final statement (see deferWrite); PostgreSQL only */
  finalWrites?: (() => DeferredWrite | undefined)[];
}

/**
 * A write a domain keeps until the end of the transaction and hands over as data, so that on
 * PostgreSQL it joins the group's one final statement (flushAllAtOnce): `statement(rows)` is a
 * data-modifying statement that reads its rows from the JSON parameter `rows` (e.g. with
 * json_to_recordset); `rows` are plain values.
 */
export interface DeferredWrite {
  readonly name: string;
  statement(rows: string): string;
  readonly rows: readonly unknown[];
}

/** Single-row inserts, compiled once per table and column list. */
const rowInserts = new Map<string, Prepared<unknown>>();
/** per table, the columns of its last row and their insert: rows of one writer keep one shape */
const lastShape = new Map<DeferredTable, { columns: string[]; insert: Prepared<unknown> }>();
function insertNow(trx: Transaction<Database>, table: DeferredTable, row: Record<string, unknown>): Promise<unknown> {
  const columns = Object.keys(row);
  let shape = lastShape.get(table);
  if (!shape || !sameColumns(shape.columns, columns)) {
    const key = `${table}|${columns.join(',')}`;
    let insert = rowInserts.get(key);
    if (!insert) {
      insert = prepared((db) => db.insertInto(table).values(Object.fromEntries(columns.map((c, i) => [c, param(i)])) as never));
      rowInserts.set(key, insert);
    }
    lastShape.set(table, (shape = { columns, insert }));
  }
  const values = new Array<unknown>(columns.length);
  for (let i = 0; i < columns.length; i++) values[i] = row[columns[i]!];
  return shape.insert.execute(trx, values);
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
const scopes = new WeakMap<object, Scope>();

function scopeOf(trx: Transaction<Database>, what: string): Scope {
  const scope = scopes.get(trx);
  if (!scope) throw new Error(`${what} outside a group-committed unit`);
  return scope;
}

/**
 * Runs `write` once just before this transaction's COMMIT, after every unit has run: for a domain
 * that keeps its rows' changes in memory during the transaction and writes each changed row once.
 */
export function beforeCommit(trx: Transaction<Database>, write: () => Promise<void>): void {
  scopeOf(trx, 'beforeCommit').beforeCommit.push(write);
}

/**
 * Registers `collect`, called once after every unit has run, whose write (if any) goes into the
 * group's final statement. Only where every statement is a round trip (PostgreSQL): elsewhere it
 * returns false and the domain writes its rows itself (beforeCommit).
 */
export function deferWrite(trx: Transaction<Database>, collect: () => DeferredWrite | undefined): boolean {
  const scope = scopeOf(trx, 'deferWrite');
  if (!scope.finalWrites) return false;
  scope.finalWrites.push(collect);
  return true;
}

/**
 * Runs `then` once this transaction has committed (never when it rolls back): for a domain that
 * keeps what the transaction committed (CommittedRows).
 */
export function afterCommit(trx: Transaction<Database>, then: () => void): void {
  scopeOf(trx, 'afterCommit').afterCommit.push(then);
}

/**
 * A number that stays the same from one group transaction to the next for as long as nothing but
 * this committer's own transactions has changed the database: rows kept from an earlier transaction
 * of the same epoch are as the database holds them. It changes when another connection has
 * committed (SQLite's data_version: a posgate command beside the host), after a transaction rolled
 * back, and after one that wrote around the caches (invalidateCommitted). Undefined where rows must
 * not be kept across transactions at all: PostgreSQL, where other hosts write the same rows.
 */
export function committedEpoch(trx: Transaction<Database>): number | undefined {
  return scopeOf(trx, 'committedEpoch').epoch;
}

/** Epochs are unique in the process: rows kept for one store are never taken for another's. */
let epochsMade = 0;
function nextEpoch(): number {
  return ++epochsMade;
}

/** Writes around the domains made outside any group transaction (see invalidateCommitted). */
let writesAround = 0;

/**
 * `db` writes rows a domain may keep (CommittedRows) without telling it: nothing kept survives the
 * write — once this group transaction commits, or, for a write outside any group, from the next
 * group on.
 */
export function invalidateCommitted(db: Transaction<Database> | Kysely<Database>): void {
  const scope = scopes.get(db);
  if (scope) scope.invalidates = true;
  else writesAround++;
}

export function deferBalanceChange(trx: Transaction<Database>, account: string, amountFen: number): void {
  const scope = scopeOf(trx, 'deferBalanceChange');
  scope.unit.set(account, (scope.unit.get(account) ?? 0) + amountFen);
}

/**
 * A row this unit writes and nothing reads back within the same transaction (a transaction
 * record, a posting and its lines): it is inserted with the batch's others in one multi-row INSERT
 * just before COMMIT, instead of one statement — one round trip — per row (PostgreSQL). Requests
 * that could read such a row (a void, a refund, a reversal of it) come only after its reply, hence
 * after this COMMIT, or are serialised behind it by their key.
 */
export async function deferInsert(trx: Transaction<Database>, table: DeferredTable, row: Record<string, unknown>): Promise<void> {
  const scope = scopeOf(trx, 'deferInsert');
  // On SQLite a statement costs microseconds and no round trip: the row goes in at once.
  if (!scope.deferRows) {
    await insertNow(trx, table, row);
    return;
  }
  let list = scope.unitRows.get(table);
  if (!list) scope.unitRows.set(table, (list = []));
  list.push(row);
}

function mergeUnit(scope: Scope): void {
  for (const [account, amount] of scope.unit) scope.committed.set(account, (scope.committed.get(account) ?? 0) + amount);
  scope.unit.clear();
  for (const [table, rows] of scope.unitRows) {
    let list = scope.rows.get(table);
    if (!list) scope.rows.set(table, (list = []));
    list.push(...rows);
  }
  scope.unitRows.clear();
}

async function flushRows(trx: Transaction<Database>, scope: Scope): Promise<void> {
  for (const table of DEFERRED_ORDER) {
    const rows = scope.rows.get(table);
    if (!rows) continue;
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      await trx.insertInto(table).values(rows.slice(i, i + ROWS_PER_INSERT) as never).execute();
    }
  }
}

const IDENTIFIER = /^[a-z_]+$/;

/**
 * PostgreSQL: every deferred row of the group and every balance change in ONE statement — one
 * round trip instead of one per table and per account. Each table's rows go in as a JSON array
 * (json_populate_recordset gives each value its column's type), the balances as (account, amount)
 * pairs; data-modifying CTEs run in one snapshot, and the foreign keys between the new postings
 * and their lines are checked at the end of the statement, when both are in.
 */
async function flushAllAtOnce(trx: Transaction<Database>, scope: Scope): Promise<void> {
  const ctes: string[] = [];
  const parameters: unknown[] = [];
  const writes = (scope.finalWrites ?? []).map((collect) => collect()).filter((w): w is DeferredWrite => w !== undefined && w.rows.length > 0);
  for (const write of writes) {
    if (!IDENTIFIER.test(write.name)) throw new Error(`deferred write name ${write.name}`);
    parameters.push(JSON.stringify(write.rows));
    ctes.push(`"${write.name}" as (${write.statement(`$${parameters.length}::json`)})`);
  }
  for (const table of DEFERRED_ORDER) {
    const rows = scope.rows.get(table);
    if (!rows || rows.length === 0) continue;
    const columns = Object.keys(rows[0]!);
    const sameShape = rows.every((r) => Object.keys(r).length === columns.length && columns.every((c) => c in r));
    // One INSERT per table names its columns once: rows of another shape fail the group, and the
    // committer then runs each unit alone (the writers of these tables all write full rows).
    if (!sameShape) throw new Error(`deferred ${table} rows of different columns in one group`);
    if (!columns.every((c) => IDENTIFIER.test(c))) throw new Error(`deferred ${table} row with a column name that is not an identifier`);
    parameters.push(JSON.stringify(rows));
    const list = columns.map((c) => `"${c}"`).join(', ');
    ctes.push(`"${table}_rows" as (insert into "${table}" (${list}) select ${list} from json_populate_recordset(null::"${table}", $${parameters.length}::json))`);
  }
  const changes = [...scope.committed].filter(([, amount]) => amount !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (changes.length > 0) {
    parameters.push(JSON.stringify(changes.map(([id, amount]) => ({ id, amount }))));
    const n = parameters.length;
    // Concurrent groups (GroupCommitOptions.concurrency) must take the account rows in one order,
    // or two of them deadlock: "locked" takes them in id order (LockRows above the sort), and the
    // update touches only rows "locked" has already taken, whatever order its join reads them in.
    ctes.push(`"locked" as (select "id" from "accounts" where "id" in (select id from json_to_recordset($${n}::json) as l(id text)) order by "id" for update)`);
    ctes.push(`"balances" as (update "accounts" set "balance_fen" = "accounts"."balance_fen" + v.amount from json_to_recordset($${n}::json) as v(id text, amount bigint) where "accounts"."id" = v.id and "accounts"."id" in (select "id" from "locked") returning 1)`);
  }
  if (ctes.length === 0) return;
  const text = `with ${ctes.join(', ')} select ${changes.length > 0 ? '(select count(*) from "balances")' : '0'}::int as updated`;
  const result = await trx.executeQuery<{ updated: number }>(CompiledQuery.raw(text, parameters));
  if (Number(result.rows[0]?.updated ?? 0) !== changes.length) throw new Error(`balances of ${changes.length} accounts to change, ${result.rows[0]?.updated ?? 0} found`);
}

const ADD_TO_BALANCE = prepared((db) => db.updateTable('accounts').set({ balance_fen: sql`balance_fen + ${param(0)}` }).where('id', '=', param(1)));

async function flushBalances(trx: Transaction<Database>, scope: Scope): Promise<void> {
  for (const account of [...scope.committed.keys()].sort()) {
    const amount = scope.committed.get(account)!;
    if (amount === 0) continue;
    const r = await ADD_TO_BALANCE.execute(trx, [amount, account]);
    if (Number(r.numAffectedRows) !== 1) throw new Error(`no account ${account}`);
  }
}

/**
 * A COMMIT whose fsync happens after it, off the event loop (SQLite, see WalSync): the group's
 * transaction runs between `syncAtCommit(false)` and `syncAtCommit(true)` on a connection held for
 * it alone, `afterCommit` is called after its COMMIT, and the units settle when that resolves.
 */
export interface DeferredDurability {
  syncAtCommit(sync: boolean): void;
  afterCommit(): Promise<void>;
  /** set once durability can no longer be promised: nothing more runs */
  readonly failed: Error | undefined;
}

export interface GroupCommitOptions {
  /** errors worth a retry of the whole unit (PostgreSQL deadlock, serialization failure) */
  readonly retryable?: (error: unknown) => boolean;
  /**
   * every statement is a network round trip (PostgreSQL): collect write-only rows for one
   * multi-row INSERT per table before COMMIT, and make the units' announced reads once per group
   */
  readonly roundTrips?: boolean;
  readonly durability?: DeferredDurability;
  /**
   * how many group transactions may run at once (default 1). More than one only where every
   * statement is a round trip (PostgreSQL): a second group then reads while the first writes and
   * commits. Never with deferred durability (one connection, one transaction at a time).
   */
  readonly concurrency?: number;
}

export interface UnitOptions {
  /**
   * Run in a transaction of its own, never in a group with other units. For a unit that reads
   * what other units wrote: on PostgreSQL their rows are inserted only at the end of their group
   * (deferInsert), so a unit of the same group would not see them. A settlement counts its batch.
   */
  readonly alone?: boolean;
}

/** A second concurrent group starts only with this many units waiting: smaller groups cost more than the overlap saves. */
const EXTRA_GROUP_UNITS_MIN = 16;

/**
 * Group commit without timers: a unit of work submitted while no transaction is running starts one
 * as soon as the event loop has taken in what already arrived; units submitted meanwhile go into
 * the next transaction together. Every promise settles only after its unit is durable: after the
 * COMMIT, or with deferred durability after the fsync that followed it; the next group starts once
 * that fsync is done, the event loop taking in requests meanwhile (starting it during the fsync was
 * measured: it split the load into groups half as large, which cost more than it saved). Units
 * run without savepoints; if one throws, the transaction is rolled
 * back and each of its units is run again in a transaction of its own, so that a failing unit
 * fails alone. One group transaction runs at a time, or up to `concurrency` on PostgreSQL, where a
 * second group reads while the first writes and commits (see openStore for the measurements).
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  /** group transactions under way */
  private running = 0;
  private runningMax = 0;
  private readonly concurrency: number;
  private commits = 0;
  private units = 0;
  private readonly retryable: (error: unknown) => boolean;
  private readonly roundTrips: boolean;
  private readonly durability: DeferredDurability | undefined;
  private readonly postgres: boolean;
  /** SQLite: the connection's data_version at the last group, and the cache epoch (see committedEpoch) */
  private readonly dataVersion: (() => number) | undefined;
  private dataVersionSeen: number | undefined;
  private writesAroundSeen = writesAround;
  private epoch = nextEpoch();

  constructor(
    private readonly db: Kysely<Database>,
    options: GroupCommitOptions = {},
  ) {
    this.retryable = options.retryable ?? (() => false);
    this.roundTrips = options.roundTrips ?? false;
    this.durability = options.durability;
    this.concurrency = options.durability ? 1 : Math.max(1, options.concurrency ?? 1);
    // The group's one final statement is PostgreSQL SQL; with round trips simulated on SQLite (tests), rows go in per table.
    this.postgres = this.roundTrips && db.getExecutor().adapter instanceof PostgresAdapter;
    // One SQLite connection writes through this committer: another connection's commit shows in
    // its data_version, which its own commits leave as it is.
    const sqlite = this.roundTrips ? undefined : sqliteConnectionOf(db);
    if (sqlite) {
      const statement = sqlite.own('pragma data_version').pluck(true);
      this.dataVersion = () => Number(statement.get());
    }
  }

  /** The epoch of a group transaction that has just begun (and holds SQLite's write lock, so no other connection commits meanwhile). */
  private epochNow(): number | undefined {
    if (!this.dataVersion) return undefined;
    const version = this.dataVersion();
    if (version !== this.dataVersionSeen || writesAround !== this.writesAroundSeen) {
      this.dataVersionSeen = version;
      this.writesAroundSeen = writesAround;
      this.epoch = nextEpoch();
    }
    return this.epoch;
  }

  /** `hints`: the keyed reads the unit will make, which a group on PostgreSQL makes once for all its units. */
  run<T>(work: Work<T>, hints: readonly ReadHint[] = [], options: UnitOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, hints, alone: options.alone === true, resolve: resolve as (v: unknown) => void, reject });
      this.startGroups();
    });
  }

  /** committed groups and units, and the most group transactions seen under way at once */
  stats(): { commits: number; units: number; concurrentMax: number } {
    return { commits: this.commits, units: this.units, concurrentMax: this.runningMax };
  }

  private startGroups(): void {
    while (this.running < this.concurrency && this.queue.length > 0 && (this.running === 0 || this.queue.length >= EXTRA_GROUP_UNITS_MIN)) {
      this.running++;
      this.runningMax = Math.max(this.runningMax, this.running);
      void this.drain().finally(() => {
        this.running--;
        this.startGroups();
      });
    }
  }

  /** Runs groups one after another while units are waiting. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      // Yield once to the event loop before each transaction (a setImmediate, not a timer): with a
      // synchronous driver a whole transaction runs within one turn, so without this every request
      // that arrived meanwhile would get a transaction, and an fsync, of its own.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const batch = this.queue.splice(0, this.groupSize());
      if (batch.length === 0) continue; // a concurrent group took them
      const failed = this.durability?.failed;
      if (failed) {
        for (const unit of batch) unit.reject(failed);
        continue;
      }
      const values = await this.attempt(batch).catch((error: unknown) => (error instanceof OutcomeInDoubtError || storeUnavailable(error) ? (error as Error) : undefined));
      if (values instanceof Error) {
        // Perhaps committed (running the units again could apply them twice), or the database
        // cannot serve any of them now: every unit fails with it.
        for (const unit of batch) unit.reject(values);
        continue;
      }
      if (values) {
        await this.settle(batch, values);
        continue;
      }
      // Something failed: run each unit alone, so only the failing one fails.
      let unavailable: unknown;
      for (const unit of batch) {
        if (unavailable !== undefined) {
          unit.reject(unavailable); // the database stopped serving meanwhile: no use waiting again
          continue;
        }
        for (let attempt = 1; ; attempt++) {
          try {
            await this.settle([unit], await this.attempt([unit]));
            break;
          } catch (error) {
            if (attempt < 3 && this.retryable(error) && !(error instanceof OutcomeInDoubtError)) continue;
            if (storeUnavailable(error)) unavailable = error;
            unit.reject(error);
            break;
          }
        }
      }
    }
  }

  /** How many units from the head of the queue go into the next group: up to the first that runs alone, or that one by itself. */
  private groupSize(): number {
    const alone = this.queue.findIndex((unit) => unit.alone);
    return alone === 0 ? 1 : alone > 0 ? Math.min(alone, GROUP_UNITS_MAX) : GROUP_UNITS_MAX;
  }

  /** Resolves the committed units' promises once their commit is durable. */
  private async settle(batch: readonly Pending[], values: readonly unknown[]): Promise<void> {
    if (!this.durability) {
      batch.forEach((unit, i) => unit.resolve(values[i]));
      return;
    }
    await this.durability.afterCommit().then(
      () => batch.forEach((unit, i) => unit.resolve(values[i])),
      (error: unknown) => batch.forEach((unit) => unit.reject(error)),
    );
  }

  /**
   * One transaction for the batch; resolves with the units' values after COMMIT. A COMMIT that
   * fails without a rollback being certain rejects with OutcomeInDoubtError.
   */
  private async attempt(batch: readonly Pending[]): Promise<unknown[]> {
    const values: unknown[] = [];
    const durability = this.durability;
    // set once every unit has run: a failure after that is the COMMIT's
    let committing = false;
    let scope: Scope | undefined;
    const run = async (trx: Transaction<Database>) => {
      scope = await this.runBatch(trx, batch, values);
      committing = true;
    };
    try {
      if (!durability) await this.db.transaction().execute(run);
      else
        await this.db.connection().execute(async (connection) => {
          // The connection is this group's alone until the callback ends: no other transaction
          // commits while its COMMIT is set not to fsync.
          durability.syncAtCommit(false);
          try {
            await connection.transaction().execute(run);
          } finally {
            durability.syncAtCommit(true);
          }
        });
    } catch (error) {
      // rolled back (or in doubt): what domains kept from this transaction's reads is not trusted
      this.epoch = nextEpoch();
      if (committing && !commitFailedCleanly(error)) {
        throw new OutcomeInDoubtError(`the COMMIT of ${batch.length} unit(s) failed and may have taken effect: ${error instanceof Error ? error.message : String(error)}`);
      }
      throw error;
    }
    this.commits++;
    this.units += batch.length;
    try {
      for (const then of scope!.afterCommit) then();
    } catch {
      // The units have committed: a failure here must not reach drain(), which would run them
      // again. What the hooks kept may be half done, so nothing kept survives it.
      scope!.invalidates = true;
    }
    if (scope!.invalidates) this.epoch = nextEpoch();
    return values;
  }

  private async runBatch(trx: Transaction<Database>, batch: readonly Pending[], values: unknown[]): Promise<Scope> {
    const scope: Scope = {
      committed: new Map(),
      unit: new Map(),
      deferRows: this.roundTrips,
      rows: new Map(),
      unitRows: new Map(),
      beforeCommit: [],
      afterCommit: [],
      epoch: this.epochNow(),
      invalidates: false,
      ...(this.postgres ? { finalWrites: [] } : {}),
    };
    scopes.set(trx, scope);
    if (this.roundTrips && batch.length > 1) await readAhead(trx, batch.flatMap((unit) => unit.hints));
    for (const unit of batch) {
      values.push(await unit.work(trx));
      mergeUnit(scope);
    }
    for (const write of scope.beforeCommit) await write();
    if (this.postgres) await flushAllAtOnce(trx, scope);
    else {
      await flushRows(trx, scope);
      await flushBalances(trx, scope);
    }
    return scope;
  }
}
