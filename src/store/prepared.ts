import type BetterSqlite3 from 'better-sqlite3';
import type { Compilable, CompiledQuery, Kysely, QueryResult, Transaction } from 'kysely';
import type { Database } from './schema.js';

/**
 * SQLite connections by Kysely adapter: on SQLite a prepared statement runs straight on the
 * better-sqlite3 connection the Kysely instance (and its open transaction) uses — synchronously,
 * without Kysely's per-query executor and connection mutex, which cost more than the statement.
 */
const sqliteConnections = new WeakMap<object, { statement(text: string): BetterSqlite3.Statement }>();

export function registerSqliteConnection(db: Kysely<Database>, connection: { statement(text: string): BetterSqlite3.Statement }): void {
  sqliteConnections.set(db.getExecutor().adapter, connection);
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
  const execute = (db: Db, values: readonly unknown[]): Promise<QueryResult<R>> => {
    const c = compiledFor(db);
    const parameters = c.parameters.map((p) => (p instanceof Param ? values[p.index] : p));
    const sqlite = sqliteConnections.get(db.getExecutor().adapter);
    if (sqlite) {
      const statement = sqlite.statement(c.sql);
      if (statement.reader) return Promise.resolve({ rows: statement.all(parameters) as R[] });
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
