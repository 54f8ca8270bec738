import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The better-sqlite3 build the store loads. Up to 12.x it wraps statements in Node's own
 * `node::ObjectWrap`, whose destructor, from Node 24.19 on, can abort the whole process (`Assertion
 * failed: (env) != nullptr` in RemoveEnvironmentCleanupHook) when a statement is garbage-collected
 * (nodejs/node#65446; here, vitest workers died of it on Node 24.21). 13.x is built on Node-API and
 * is not affected, but needs Node 22 or later, and its calls cost a little more (4–5 % fewer sales/s
 * on Node 22 in `bench:host`). So Node 24 and later load 13.x (the dependency `better-sqlite3-napi`,
 * an alias of it); Node 20 and 22, which the bug does not reach, keep 12.x. The API is the same.
 */
const require = createRequire(import.meta.url);
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/** Resolved path of the driver module: a worker thread (the checkpointer) loads the same one. */
export const SQLITE_DRIVER: string = require.resolve(NODE_MAJOR >= 24 ? 'better-sqlite3-napi' : 'better-sqlite3');

export const Sqlite = require(SQLITE_DRIVER) as typeof BetterSqlite3;
