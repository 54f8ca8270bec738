export type Engine = 'sqlite' | 'postgres';

/**
 * The rows a query reads, locked until the end of the transaction on PostgreSQL (FOR UPDATE), where
 * two group transactions may run at once. SQLite has one writer: a transaction's reads stand
 * until it ends.
 */
export function lockedOn<Q extends { forUpdate(): Q }>(engine: Engine, query: Q): Q {
  return engine === 'postgres' ? query.forUpdate() : query;
}
