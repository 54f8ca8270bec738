import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { AuditLog } from '../audit/index.js';
import { claimNodeLease, NodeLeaseError } from '../host/index.js';
import { HsmError, loadLmk, readKeyHeader, type Hsm } from '../hsm/index.js';
import { verifyLedger } from '../ledger/index.js';
import { backupSqlite, integrityProblem, openSqliteReadOnly, openStore, parseDbUrl, restoreSqlite, StoreError, type Store } from '../store/index.js';
import { cliActor, emit, UsageError, type Io } from './output.js';
import { DEFAULT_DB, storeHsm, withStore } from './platform-commands.js';

/**
 * `posgate backup` and `posgate restore`: the embedded SQLite database copied while the host runs,
 * checked, and put back. The LMK is never in a backup: without it the copy's keys, card numbers and
 * password hashes are of no use to whoever finds it, and the engineer keeps the two apart.
 */

type Run = (action: () => Promise<void> | void, json: () => boolean) => Promise<void>;

/** `1 transaction`, `91,757 transactions` */
const n = (count: number, what: string) => `${count.toLocaleString('en-US')} ${what}${count === 1 ? '' : 's'}`;

const POSTGRES_ADVICE = 'posgate backup and restore copy the embedded SQLite database; back up PostgreSQL with its own tools (pg_dump and pg_restore), and keep the LMK apart from the dump';

/** The SQLite file behind `--db`, or why there is none to work on. */
function sqliteFile(db: string): string {
  const { engine, target } = parseDbUrl(db);
  if (engine !== 'sqlite') throw new UsageError('postgres_backup', POSTGRES_ADVICE);
  if (target === ':memory:') throw new UsageError('no_database', 'an in-memory database has nothing to back up');
  return target;
}

/** What a database file holds, read without changing it: for the report and to check it before it is served. */
async function describeCopy(file: string): Promise<{ ledgerOk: boolean; transactions: number; terminals: number; cards: number; lmkId: string | undefined }> {
  const copy = openSqliteReadOnly(file);
  try {
    const count = async (table: 'transactions' | 'terminals' | 'cards') => Number((await copy.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const key = await copy.db.selectFrom('system_keys').select('key_block').limit(1).executeTakeFirst();
    return {
      ledgerOk: (await verifyLedger(copy.db)).ok,
      transactions: await count('transactions'),
      terminals: await count('terminals'),
      cards: await count('cards'),
      lmkId: key ? readKeyHeader(key.key_block).lmkId : undefined,
    };
  } catch (err) {
    throw new UsageError('not_a_posgate_database', `${file} is not a posgate database: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await copy.close();
  }
}

const audited = (store: Store, hsm: Hsm, action: string, detail: Record<string, string | number>) =>
  store.transact((trx) => new AuditLog(store.engine, hsm).append(trx, { actor: cliActor(), action, subject: 'database', outcome: 'success', detail }));

export function backupCommand(io: Io, run: Run): Command {
  return new Command('backup')
    .description('copy the embedded SQLite database while the host runs: a consistent snapshot, checked (never the LMK)')
    .requiredOption('--out <file>', 'the backup file to write (never overwritten)')
    .option('--db <url>', 'database', DEFAULT_DB)
    .option('--lmk-file <path>', 'LMK key file (default: beside the database; or POSGATE_LMK)')
    .option('--json', 'print one JSON object')
    .action((o: { out: string; db: string; lmkFile?: string; json?: boolean }) =>
      run(async () => {
        const source = sqliteFile(o.db);
        const out = resolve(o.out);
        if (existsSync(out)) throw new UsageError('out_exists', `${out} exists: a backup never overwrites a file`);
        await withStore(o.db, async (store) => {
          const hsm = storeHsm(store, o.lmkFile); // the LMK is at hand (for the audit entry) before anything is copied
          let bytes: number;
          try {
            ({ bytes } = backupSqlite(source, out));
          } catch (err) {
            if (err instanceof StoreError || (err as NodeJS.ErrnoException).code !== undefined) throw new UsageError('backup_failed', `no backup written: ${(err as Error).message}`);
            throw err;
          }
          const copy = await describeCopy(out);
          await audited(store, hsm, 'database.backed_up', { file: out, bytes, transactions: copy.transactions });
          const lmkFile = o.lmkFile ?? (process.env.POSGATE_LMK ? 'POSGATE_LMK' : `${source}.lmk`);
          emit(io, Boolean(o.json), { file: out, bytes, transactions: copy.transactions, terminals: copy.terminals, cards: copy.cards, ledger_ok: copy.ledgerOk, lmk_id: hsm.lmkId }, () => [
            `backup of ${source} written to ${out} (${(bytes / 1_048_576).toFixed(1)} MB, mode 0600): ${n(copy.transactions, 'transaction')}, ${n(copy.terminals, 'terminal')}, ${n(copy.cards, 'card')}; ledger ${copy.ledgerOk ? 'OK' : 'NOT OK (run posgate ledger verify on it)'}`,
            `its keys are under LMK ${hsm.lmkId}, which is not in the backup: keep ${lmkFile} safe, and apart from it`,
          ]);
        });
      }, () => Boolean(o.json)),
    );
}

export function restoreCommand(io: Io, run: Run): Command {
  return new Command('restore')
    .description('put a backup in place of the embedded SQLite database (the host stopped); what was there is kept aside')
    .requiredOption('--from <file>', 'the backup file (from posgate backup)')
    .option('--db <url>', 'database', DEFAULT_DB)
    .option('--lmk-file <path>', 'LMK key file the restored database is to be served with (default: beside the database; or POSGATE_LMK)')
    .option('--json', 'print one JSON object')
    .action((o: { from: string; db: string; lmkFile?: string; json?: boolean }) =>
      run(async () => {
        const target = sqliteFile(o.db);
        const from = resolve(o.from);
        if (!existsSync(from)) throw new UsageError('no_backup', `no backup at ${from}`);
        const problem = integrityProblem(from);
        if (problem) throw new UsageError('backup_unsound', `${from} is not a sound SQLite database: ${problem}`);
        const backup = await describeCopy(from);
        // The LMK the restored database will be served with must be the one its keys are under.
        const lmkFile = o.lmkFile ?? `${target}.lmk`;
        let lmkId: string;
        try {
          lmkId = loadLmk({ file: lmkFile, create: false }).id;
        } catch (err) {
          if (err instanceof HsmError) throw new UsageError('no_lmk', `${err.message}: put the LMK kept with the backup (LMK ${backup.lmkId ?? '?'}) at ${lmkFile}, mode 0600, or give --lmk-file or POSGATE_LMK`);
          throw err;
        }
        if (backup.lmkId !== undefined && backup.lmkId !== lmkId) {
          throw new UsageError('wrong_lmk', `the backup's keys are under LMK ${backup.lmkId}, and the LMK here is ${lmkId}: served with it, the restored database could open none of them`);
        }
        if (existsSync(target)) await notServed(o.db);
        const { movedAside } = restoreSqlite(from, target);
        const restored = await withStore(o.db, async (store) => {
          await audited(store, storeHsm(store, o.lmkFile), 'database.restored', { from, ...(movedAside ? { moved_aside: movedAside } : {}) });
          return verifyLedger(store.db);
        });
        emit(io, Boolean(o.json), { database: target, from, moved_aside: movedAside ?? null, transactions: backup.transactions, ledger_ok: restored.ok }, () => [
          `restored ${from} into ${target}: ${n(backup.transactions, 'transaction')}, ${n(backup.terminals, 'terminal')}, ${n(backup.cards, 'card')}; ledger ${restored.ok ? 'OK' : 'NOT OK (run posgate ledger verify)'}`,
          movedAside ? `the database that was there is kept as ${movedAside}` : 'there was no database there before',
        ]);
      }, () => Boolean(o.json)),
    );
}

/** Refuses (exit 2) while a host serves the database: its lease is live. */
async function notServed(db: string): Promise<void> {
  const store = await openStore(db, { migrate: false });
  try {
    const lease = await claimNodeLease(store, '0', () => undefined);
    await lease.release();
  } catch (err) {
    if (err instanceof NodeLeaseError) throw new UsageError('database_in_use', `${err.message}; nothing was restored`);
    throw err;
  } finally {
    await store.close();
  }
}
