import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Engine, type Store } from '../../src/store/index.js';

/** The PostgreSQL server CI provides (trust auth, database `test`). */
export const PG_URL = process.env.POSGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgReachable: Promise<boolean> | undefined;
export function postgresReachable(): Promise<boolean> {
  pgReachable ??= (async () => {
    // a few tries: on a busy machine (test files in parallel, or another suite against the same
    // server) a first connection can be slow or find every slot taken for a moment
    let failure: unknown;
    for (let attempt = 0; attempt < 4; attempt++) {
      const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5_000 });
      try {
        await client.connect();
        await client.end();
        return true;
      } catch (err) {
        failure = err;
        await client.end().catch(() => undefined);
        if ((err as { code?: string }).code === 'ECONNREFUSED') break; // no server: no use waiting
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
    }
    if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${PG_URL} (${String(failure)}); CI must start it (.ci/run)`);
    console.warn(`PostgreSQL not reachable at ${PG_URL}: PostgreSQL suites are skipped on this machine`);
    return false;
  })();
  return pgReachable;
}

/** The engines this machine can test: SQLite always, PostgreSQL when its server answers. */
export const ENGINES: Engine[] = ['sqlite', 'postgres'];

export interface TestStore extends Store {
  /** the --db URL that reaches the same data */
  readonly url: string;
}

/** A new, empty PostgreSQL schema and the --db URL that uses it; `drop` removes it and everything in it. */
export async function freshPostgresSchema(prefix = 't'): Promise<{ readonly url: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  const run = async (statement: string) => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await run(`create schema ${schema}`);
  return { url: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, drop: () => run(`drop schema ${schema} cascade`) };
}

/**
 * A fresh, empty, migrated store. PostgreSQL tests each get their own schema (dropped on close), so
 * test files can run in parallel against the one `test` database.
 */
export async function openTestStore(engine: Engine, sqlitePath = ':memory:'): Promise<TestStore> {
  if (engine === 'sqlite') {
    const store = await openStore(`sqlite:${sqlitePath}`);
    return { ...store, url: `sqlite:${sqlitePath}` };
  }
  const schema = await freshPostgresSchema();
  const store = await openStore(schema.url);
  return {
    ...store,
    url: schema.url,
    close: async () => {
      await store.close();
      await schema.drop();
    },
  };
}

/**
 * Another PostgreSQL session — an operator's, a long migration — holding `table` in ACCESS
 * EXCLUSIVE mode until `release()`.
 */
export async function holdTableLock(url: string, table: string): Promise<{ release(): Promise<void> }> {
  const session = new pg.Client({ connectionString: url });
  await session.connect();
  await session.query('begin');
  await session.query(`lock table "${table}" in access exclusive mode`);
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      await session.query('rollback');
      await session.end();
    },
  };
}
