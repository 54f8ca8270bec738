/** Database access: SQLite (embedded default) or PostgreSQL, one set of migrations, group commit. */
export { openSqliteReadOnly, openStore, parseDbUrl, StoreError, type Store, type StoreOptions } from './database.js';
export { backupSqlite, integrityProblem, restoreSqlite } from './backup.js';
export { TransactionCache, type BatchRead, type ReadHint } from './batch-read.js';
export { lockedOn, type Engine } from './engine.js';
export { afterCommit, beforeCommit, committedEpoch, deferBalanceChange, deferInsert, deferWrite, invalidateCommitted, type DeferredWrite, GROUP_UNITS_MAX, type DeferredTable, type UnitOptions, type Work } from './group-commit.js';
export { CommittedRows } from './committed-rows.js';
export { newId } from './ids.js';
export type * from './schema.js';
export { param, prepared, type Prepared } from './prepared.js';
export { WalSyncError } from './wal-sync.js';
export { OutcomeInDoubtError } from './failures.js';
export type { CheckpointStats } from './checkpointer.js';
export { Sqlite, SQLITE_DRIVER } from './sqlite-driver.js';
