import type BetterSqlite3 from 'better-sqlite3';
import type { Compilable, CompiledQuery, Kysely, QueryResult, Transaction } from 'kysely';
import type { Database } from './schema.js';

/**
 * SQLite connections by Kysely adapter: on SQLite a prepared statement runs straight on the
 * better-sqlite3 connection the Kysely instance (and its open transaction) uses — synchronously,
 * without Kysely's per-query executor and connection mutex, which cost more than the statement.
 */
export interface SqliteStatements {
  /** a new statement, the caller's own (not shared with Kysely's driver), which it may switch to raw rows */
  own(text: string): BetterSqlite3.Statement;
}
const sqliteConnections = new WeakMap<object, SqliteStatements>();

export function registerSqliteConnection(db: Kysely<Database>, connection: SqliteStatements): void {
  sqliteConnections.set(db.getExecutor().adapter, connection);
}

/** The SQLite connection under a Kysely instance the store opened; undefined for PostgreSQL or a Kysely of another's making. */
export function sqliteConnectionOf(db: Kysely<Database>): SqliteStatements | undefined {
  return sqliteConnections.get(db.getExecutor().adapter);
}

type RowMaker = (values: readonly unknown[]) => unknown;
const rowMakers = new Map<string, RowMaker>();

/**
 * Rows of a query as objects of one fixed shape: better-sqlite3 builds each row object property by
 * property (a wide card or transaction row took 6–9 µs), while an object literal over its array
 * row costs a fraction of that and gives every row the same hidden class. The literal is made
 * once per column list; names are quoted with JSON.stringify, so no name can break out of it.
 */
function rowMaker(columns: readonly string[]): RowMaker {
  const key = JSON.stringify(columns);
  let make = rowMakers.get(key);
  if (!make) {
    make = new Function('v', `return { ${columns.map((c, i) => `${JSON.stringify(c)}: v[${i}]`).join(', ')} };`) as RowMaker;
    rowMakers.set(key, make);
  }
  return make;
}

/** A prepared query's statement on one connection; a reading one is in raw mode, with its row maker. */
interface OwnStatement {
  readonly statement: BetterSqlite3.Statement;
  readonly make?: RowMaker;
}

/**
 * A query built and compiled once (per engine) and then executed with new parameters: the hot path
 * of the host runs a dozen statements per request, and building and compiling each with Kysely
 * every time costs more than SQLite takes to run them. Parameters are positional: `param(i)` marks
 * where the i-th value of `execute`'s array goes.
 */
class Param {
  constructor(readonly index: number) {}
}

export function param(index: number): never {
  return new Param(index) as never;
}

type Db = Kysely<Database> | Transaction<Database>;

export interface Prepared<R> {
  execute(db: Db, values: readonly unknown[]): Promise<QueryResult<R>>;
  rows(db: Db, values: readonly unknown[]): Promise<R[]>;
  first(db: Db, values: readonly unknown[]): Promise<R | undefined>;
}

export function prepared<R>(build: (db: Kysely<Database>) => Compilable<R>): Prepared<R> {
  // One compiled form per Kysely dialect (SQLite and PostgreSQL spell placeholders differently).
  const compiled = new WeakMap<object, CompiledQuery<R>>();
  const compiledFor = (db: Db): CompiledQuery<R> => {
    const key = db.getExecutor().adapter;
    let c = compiled.get(key);
    if (!c) {
      c = build(db as Kysely<Database>).compile();
      compiled.set(key, c);
    }
    return c;
  };
  const statements = new WeakMap<SqliteStatements, OwnStatement>();
  const statementFor = (sqlite: SqliteStatements, text: string): OwnStatement => {
    let own = statements.get(sqlite);
    if (!own) {
      const statement = sqlite.own(text);
      own = statement.reader ? { statement: statement.raw(true), make: rowMaker(statement.columns().map((c) => c.name)) } : { statement };
      statements.set(sqlite, own);
    }
    return own;
  };
  const execute = (db: Db, values: readonly unknown[]): Promise<QueryResult<R>> => {
    const c = compiledFor(db);
    const parameters = c.parameters.map((p) => (p instanceof Param ? values[p.index] : p));
    const sqlite = sqliteConnectionOf(db);
    if (sqlite) {
      const { statement, make } = statementFor(sqlite, c.sql);
      if (make) {
        const raw = statement.all(parameters) as unknown[][];
        const rows = new Array<R>(raw.length);
        for (let i = 0; i < raw.length; i++) rows[i] = make(raw[i]!) as R;
        return Promise.resolve({ rows });
      }
      const { changes } = statement.run(parameters);
      return Promise.resolve({ rows: [], numAffectedRows: BigInt(changes) });
    }
    return db.executeQuery({ ...c, parameters } as CompiledQuery<R>);
  };
  return {
    execute,
    rows: async (db, values) => (await execute(db, values)).rows,
    first: async (db, values) => (await execute(db, values)).rows[0],
  };
}
