import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Engine } from './engine.js';
import { GroupCommitter, type DeferredDurability, type UnitOptions, type Work } from './group-commit.js';
import type { ReadHint } from './batch-read.js';
import { migrationProvider } from './migrations/index.js';
import { registerSqliteConnection } from './prepared.js';
import type { Database } from './schema.js';
import { WalSync } from './wal-sync.js';
import { WalCheckpointer, type CheckpointStats } from './checkpointer.js';
import { Sqlite, SQLITE_DRIVER } from './sqlite-driver.js';


export interface Store {
  readonly engine: Engine;
  readonly db: Kysely<Database>;
  /**
   * For reads outside a unit of work (the host's look-ups before it starts one): on SQLite a second
   * connection, so that they never queue behind a running group commit; on PostgreSQL the pool.
   */
  readonly read: Kysely<Database>;
  /** where the data lives, without credentials */
  readonly location: string;
  /** the file path of an SQLite database (for the LMK key file beside it) */
  readonly file?: string;
  /** Runs `work` as one group-committed unit; resolves after its commit. `hints`: keyed reads it will make (see BatchRead). */
  transact<T>(work: Work<T>, hints?: readonly ReadHint[], options?: UnitOptions): Promise<T>;
  commitStats(): { commits: number; units: number; concurrentMax: number };
  /** set when the store can no longer promise durability (a failed fsync): restart the process */
  failure(): Error | undefined;
  /** SQLite files: the background WAL checkpoints (WalCheckpointer) */
  checkpointStats(): CheckpointStats | undefined;
  close(): Promise<void>;
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** `--db` values: `postgres://…` / `postgresql://…`, `sqlite:PATH`, a file path, or `:memory:`. */
export function parseDbUrl(url: string): { engine: Engine; target: string } {
  if (/^postgres(ql)?:\/\//.test(url)) return { engine: 'postgres', target: url };
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (path.length === 0) throw new StoreError('empty SQLite path');
  return { engine: 'sqlite', target: path === ':memory:' ? path : resolve(path) };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres';
  }
}

/** int8 (bigint) columns hold fen and milliseconds; they fit a double exactly, and must. */
function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new StoreError(`bigint ${value} is beyond 2^53`);
  return n;
}

/** Statements prepared once per SQL text and reused (Kysely's SQLite driver would prepare every time). */
const STATEMENTS_CACHED_MAX = 512;

interface CachingSqlite {
  close(): void;
  prepare(text: string): BetterSqlite3.Statement;
  statement(text: string): BetterSqlite3.Statement;
  /** a new statement, not cached here: its owner keeps it (see prepared.ts) */
  own(text: string): BetterSqlite3.Statement;
  /**
   * Whether COMMIT fsyncs the WAL (`synchronous = FULL`, the connection's setting) or leaves that to
   * the caller (`NORMAL`, for group commits followed by WalSync). Only between transactions.
   */
  syncAtCommit(sync: boolean): void;
}

function cachingSqlite(sqlite: BetterSqlite3.Database): CachingSqlite {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const statement = (text: string) => {
    let s = cache.get(text);
    if (!s) {
      // A write transaction takes the write lock at BEGIN (IMMEDIATE), waiting for it up to the busy
      // timeout. Kysely's plain BEGIN is DEFERRED: the lock is asked for at the first write, and if
      // another connection (the host, or a posgate command beside it) committed since this one's
      // first read, SQLite refuses at once — "database is locked" — without waiting.
      s = sqlite.prepare(text === 'begin' && !sqlite.readonly ? 'begin immediate' : text);
      if (cache.size >= STATEMENTS_CACHED_MAX) cache.delete(cache.keys().next().value!);
      cache.set(text, s);
    }
    return s;
  };
  return {
    close: () => sqlite.close(),
    prepare: statement,
    statement,
    own: (text) => sqlite.prepare(text),
    syncAtCommit: (sync) => {
      // SQLite refuses to change this inside a transaction: a stray one is a bug here, not a wait.
      if (sqlite.inTransaction) throw new StoreError('synchronous changed inside a transaction');
      statement(sync ? 'pragma synchronous = FULL' : 'pragma synchronous = NORMAL').run();
    },
  };
}

function sqliteKysely(connection: CachingSqlite): Kysely<Database> {
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection as unknown as ConstructorParameters<typeof SqliteDialect>[0]['database'] }) });
  registerSqliteConnection(db, connection);
  return db;
}

function openSqlite(target: string, readonly: boolean): BetterSqlite3.Database {
  const sqlite = new Sqlite(target, readonly ? { readonly: true } : {});
  if (!readonly) {
    // Card data (encrypted) and key blocks live here: only the owner reads it. SQLite gives its
    // -wal and -shm files the database file's permissions.
    if (target !== ':memory:') chmodSync(target, 0o600);
    // Durable before reply: WAL with a full fsync at every commit (group commits make theirs off the
    // event loop, see WalSync; every other commit fsyncs inside COMMIT). Checkpoints mostly run in a
    // thread of their own (WalCheckpointer).
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
  }
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Keep the working set in memory: 64 MiB of page cache, and reads through a memory map.
  sqlite.pragma('cache_size = -65536');
  sqlite.pragma('mmap_size = 268435456');
  return sqlite;
}

export interface StoreOptions {
  /** apply the migrations on open (default true) */
  readonly migrate?: boolean;
  /**
   * PostgreSQL: how long a statement waits for a row or table lock before it fails (default
   * 2,000 ms): a lock held elsewhere (a long migration, an operator's session) then turns into 96s
   * the terminals see at once, not into a host that stops answering.
   */
  readonly lockTimeoutMs?: number;
}

/** PostgreSQL: a session idle inside a transaction this long is ended by the server, its locks released. */
const IDLE_IN_TRANSACTION_MS = 30_000;

/**
 * An SQLite database file opened read-only, with no migrations, no WAL switch and no writer: for
 * reading a backup as it is without changing a byte of it.
 */
export function openSqliteReadOnly(file: string): { readonly db: Kysely<Database>; close(): Promise<void> } {
  // the same as the host's own read connection (a read-only open of a missing file fails)
  const db = sqliteKysely(cachingSqlite(openSqlite(file, true)));
  return { db, close: () => db.destroy() };
}

export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  const { engine, target } = parseDbUrl(url);
  let db: Kysely<Database>;
  let read: Kysely<Database> | undefined;
  let location: string;
  let file: string | undefined;
  let durability: (DeferredDurability & { close(): Promise<void> }) | undefined;
  let checkpointer: WalCheckpointer | undefined;
  if (engine === 'sqlite') {
    if (target !== ':memory:') mkdirSync(dirname(target), { recursive: true });
    const writer = cachingSqlite(openSqlite(target, false));
    db = sqliteKysely(writer);
    if (target !== ':memory:') {
      checkpointer = WalCheckpointer.start(target, SQLITE_DRIVER);
      const wal = new WalSync(target);
      durability = {
        syncAtCommit: (sync) => writer.syncAtCommit(sync),
        afterCommit: () => wal.afterCommit(),
        get failed() {
          return wal.failed;
        },
        close: () => wal.close(),
      };
    }
    location = target === ':memory:' ? 'sqlite::memory:' : `sqlite:${target}`;
    file = target === ':memory:' ? undefined : target;
  } else {
    const pool = new pg.Pool({
      connectionString: target,
      max: 8,
      lock_timeout: options.lockTimeoutMs ?? 2_000,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
      types: { getTypeParser: ((oid: number, format?: string) => (oid === 20 ? parseInt8 : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
    });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    location = redact(target);
  }
  if (options.migrate !== false) {
    // Kysely looks for its migration tables by name across every schema it can see; on PostgreSQL,
    // name the schema in use, so that two posgate databases in one PostgreSQL never mix.
    const schema = engine === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s : undefined;
    const migrator = new Migrator({ db, provider: migrationProvider(engine), ...(schema ? { migrationTableSchema: schema } : {}) });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      await db.destroy();
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      throw new StoreError(`migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (engine === 'sqlite' && target !== ':memory:') read = sqliteKysely(cachingSqlite(openSqlite(target, true)));
  // SQLite: one group transaction at a time (one writer), its fsync off the event loop (WalSync).
  // PostgreSQL: a group's statements are per group, not per unit (reads ahead, one final write),
  // and its five round trips leave both the host and the server idle part of the time, so two
  // groups run at once: one reads while the other writes and commits. Measured with 64 terminals:
  // with per-table writes, 1 at a time gave 2,900 sales/s, 2 gave 2,600, 4 gave 2,200 (they queued
  // on the hot ledger rows); with the one final write, 3 at a time deadlocked on the account rows
  // and locking them at the start of the group took the gain away; with them locked in id order
  // inside the final write (flushAllAtOnce), 2 at a time — the second starting only with 16 units
  // waiting — beat 1 at a time in 4 of 4 alternating runs (2,275–2,524 against 1,807–2,269 /s on a
  // slow day) without a deadlock; 3 at a time, or a second group started for 4 or 8 waiting units,
  // did no better in single runs.
  // Deadlocks and serialization failures are retried.
  const committer =
    engine === 'postgres'
      ? new GroupCommitter(db, { retryable: (e) => ['40P01', '40001'].includes((e as { code?: string })?.code ?? ''), roundTrips: true, concurrency: 2 })
      : new GroupCommitter(db, durability ? { durability } : {});
  return {
    engine,
    db,
    read: read ?? db,
    location,
    ...(file ? { file } : {}),
    transact: (work, hints, options) => committer.run(work, hints, options),
    commitStats: () => committer.stats(),
    failure: () => durability?.failed,
    checkpointStats: () => checkpointer?.checkpointStats(),
    close: async () => {
      await durability?.close();
      await checkpointer?.stop();
      await read?.destroy();
      await db.destroy();
    },
  };
}
