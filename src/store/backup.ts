import { chmodSync, closeSync, copyFileSync, constants, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from './database.js';
import { Sqlite } from './sqlite-driver.js';

/**
 * Online backup and restore of an SQLite database (the embedded default). A backup is `VACUUM INTO`
 * a new file from a read-only connection: a consistent snapshot of what was committed when it
 * began, taken while the host goes on writing (in WAL mode a reader never blocks the writer, nor it
 * the reader), compacted, and checked page by page. PostgreSQL has its own tools (pg_dump).
 */
export function backupSqlite(source: string, out: string): { readonly bytes: number } {
  if (!existsSync(source)) throw new StoreError(`no database at ${source}`);
  // Made empty with mode 0600 first (VACUUM INTO keeps an empty file's permissions): the copy holds
  // key blocks and encrypted card numbers, for the owner's eyes only. 'wx': never over another file.
  writeFileSync(out, '', { mode: 0o600, flag: 'wx' });
  try {
    const db = new Sqlite(source, { readonly: true, fileMustExist: true });
    try {
      db.prepare('vacuum into ?').run(out);
    } finally {
      db.close();
    }
    const problem = integrityProblem(out);
    if (problem) throw new StoreError(`the copy failed its integrity check: ${problem}`);
    syncPath(out);
  } catch (err) {
    rmSync(out, { force: true });
    throw err;
  }
  return { bytes: statSync(out).size };
}

/** What SQLite's integrity check finds wrong with a database file (its first three findings), or undefined when nothing. */
export function integrityProblem(file: string): string | undefined {
  let db: InstanceType<typeof Sqlite> | undefined;
  try {
    db = new Sqlite(file, { readonly: true, fileMustExist: true });
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.length === 1 && rows[0]!.integrity_check === 'ok' ? undefined : rows.slice(0, 3).map((r) => r.integrity_check).join('; ');
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    db?.close();
  }
}

/**
 * Puts a backup in place of `target` (which no host may be serving: the caller checks its lease).
 * What was there — the database and any -wal and -shm beside it — is moved aside under
 * `<target>.before-restore-<time>`, never deleted; the backup is copied in under a temporary name,
 * made durable, and renamed into place, so that a crash leaves either the old database or the new.
 */
export function restoreSqlite(backup: string, target: string, now = Date.now()): { readonly movedAside?: string } {
  const problem = integrityProblem(backup);
  if (problem) throw new StoreError(`${backup} is not a sound SQLite database: ${problem}`);
  const partial = `${target}.restoring`;
  mkdirSync(dirname(target), { recursive: true });
  rmSync(partial, { force: true });
  copyFileSync(backup, partial, constants.COPYFILE_EXCL);
  try {
    chmodSync(partial, 0o600);
    syncPath(partial);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
  let movedAside: string | undefined;
  if (existsSync(target)) {
    movedAside = `${target}.before-restore-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['-wal', '-shm', '']) if (existsSync(target + suffix)) renameSync(target + suffix, movedAside + suffix);
  }
  renameSync(partial, target);
  syncPath(dirname(target));
  return movedAside ? { movedAside } : {};
}

/** Makes a file's contents, or a directory's entries (a rename), durable. */
function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
