import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The better-sqlite3 build the store loads. Up to 12.x it wraps statements in Node's own
 * `node::ObjectWrap`, whose destructor, from Node 24.19 on, can abort the whole process (`Assertion
 * failed: (env) != nullptr` in RemoveEnvironmentCleanupHook) when a statement is garbage-collected
 * (nodejs/node#65446; here, vitest workers died of it on Node 24.21). 13.x is built on Node-API and
 * is not affected, but needs Node 22 or later, and its calls cost a little more (4–5 % fewer sales/s
 * on Node 22 under the host benchmark's load). So Node 24 and later load 13.x (the optional dependency
 * `better-sqlite3-napi`, an alias of it, which npm installs only where Node is 22 or later); Node 20
 * and 22, which the bug does not reach, keep 12.x. The API is the same.
 */
const require = createRequire(import.meta.url);
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

function driverPath(): string {
  if (NODE_MAJOR < 24) return require.resolve('better-sqlite3');
  try {
    return require.resolve('better-sqlite3-napi');
  } catch {
    process.emitWarning(`better-sqlite3 13 (the optional dependency better-sqlite3-napi) is not installed: on Node ${process.versions.node} better-sqlite3 12 can abort the process; run npm install`, { code: 'POSGATE_SQLITE_DRIVER' });
    return require.resolve('better-sqlite3');
  }
}

/** Resolved path of the driver module: a worker thread (the checkpointer) loads the same one. */
export const SQLITE_DRIVER: string = driverPath();

export const Sqlite = require(SQLITE_DRIVER) as typeof BetterSqlite3;
