import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnHost } from '../../src/loadgen/index.js';
import { Sqlite } from '../../src/store/index.js';
import { approvedSales } from '../support/metrics.js';
import { posgateBinary, posgateBinaryAsync } from './run-cli.js';

const PAN = '6224242900000113';

/** The audit log's entries about the database itself, oldest first. */
function auditEntries(file: string): { action: string; actor: string; detail: string }[] {
  const db = new Sqlite(file, { readonly: true });
  try {
    return db.prepare("select action, actor, detail from audit_events where action like 'database.%' order by id").all() as { action: string; actor: string; detail: string }[];
  } finally {
    db.close();
  }
}

describe('posgate backup and restore (the embedded SQLite database)', () => {
  it('a backup taken while terminals sell is a sound snapshot; restored where the host will run, it serves terminals, and the books and the audit log hold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'posgate-backup-'));
    const db = join(dir, 'live', 'posgate.db');
    const copy = join(dir, 'posgate-backup.db');
    const host = await spawnHost(['--demo', '--demo-terminals', '4', '--db', db]);
    let backup: { transactions: number; ledger_ok: boolean; lmk_id: string; bytes: number };
    try {
      // two terminals sell for four seconds; the backup is taken once the host has approved some
      const selling = posgateBinaryAsync(['bench', '--terminals', '2', '--duration', '4', '--json', '--target', `127.0.0.1:${host.isoPort}`]);
      await approvedSales(host.httpPort, 20);
      const made = await posgateBinaryAsync(['backup', '--db', db, '--out', copy, '--json']);
      expect(made.stderr).toBe('');
      backup = made.json();
      const sold = (await selling).json<{ approved: number; errors: Record<string, number> }>();
      expect(sold.errors).toEqual({});
      expect(backup.ledger_ok).toBe(true);
      expect(backup.transactions).toBeGreaterThan(0);
      expect(backup.transactions).toBeLessThanOrEqual(sold.approved);
      expect(statSync(copy).mode & 0o777).toBe(0o600);
      expect(readFileSync(copy).includes(Buffer.from(PAN))).toBe(false); // card numbers only encrypted, as in the database
    } finally {
      await host.stop();
    }
    // the audit log of the live database says who took a backup, and where to
    expect(auditEntries(db)).toEqual([{ action: 'database.backed_up', actor: expect.stringMatching(/^cli:/), detail: expect.stringContaining(copy) }]);
    expect(posgateBinary(['audit', 'verify', '--db', db, '--json']).json()).toMatchObject({ ok: true });

    // another machine: the LMK, kept apart, goes beside the database to be; then the restore
    const there = join(dir, 'there', 'posgate.db');
    mkdirSync(join(dir, 'there'));
    copyFileSync(`${db}.lmk`, `${there}.lmk`);
    const restored = posgateBinary(['restore', '--from', copy, '--db', there, '--json']);
    expect(restored.stderr).toBe('');
    expect(restored.json()).toMatchObject({ database: there, transactions: backup.transactions, ledger_ok: true, moved_aside: null });

    const again = await spawnHost(['--demo', '--demo-terminals', '4', '--db', there]);
    try {
      // a terminal the run above did not use signs in with its keys from the backup and sells
      const pos = await posgateBinaryAsync(['terminal', '--demo', '3', '--port', String(again.isoPort), '--state', join(dir, 't3.json')], ['1', '01', '2580', '2', '8.00', '1', 's', '123456', '0', ''].join('\n'));
      expect(pos.stdout).toContain('交易成功 APPROVED');
    } finally {
      await again.stop();
    }
    const books = posgateBinary(['ledger', 'verify', '--db', there, '--json']).json<{ ok: boolean; postings: number }>();
    expect(books.ok).toBe(true);
    expect(books.postings).toBe(backup.transactions + 1);
    expect(posgateBinary(['audit', 'verify', '--db', there, '--json']).json()).toMatchObject({ ok: true });
    expect(auditEntries(there).map((e) => e.action)).toEqual(['database.restored']);

    // restored once more over it: the database that was there, with the sale made since, is kept aside
    const over = posgateBinary(['restore', '--from', copy, '--db', there, '--json']).json<{ moved_aside: string; transactions: number }>();
    expect(over.moved_aside).toMatch(/posgate\.db\.before-restore-\d{4}-\d\d-\d\dT[\d-]+Z$/);
    expect(over.transactions).toBe(backup.transactions);
    expect(posgateBinary(['ledger', 'verify', '--db', over.moved_aside, '--json']).json()).toMatchObject({ ok: true, postings: backup.transactions + 1 });
  });

  it('refuses what would lose or mislay data, with a clear message and exit code 2, and changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'posgate-backup-'));
    const db = join(dir, 'posgate.db');
    const copy = join(dir, 'copy.db');
    const host = await spawnHost(['--demo', '--db', db]);
    try {
      const first = posgateBinary(['backup', '--db', db, '--out', copy]);
      expect(first.stdout).toMatch(new RegExp(`^backup of ${db} written to ${copy} \\(\\d+\\.\\d MB, mode 0600\\): 0 transactions, 2 terminals, \\d+ cards; ledger OK\\n`));
      expect(first.stdout).toMatch(/^its keys are under LMK [0-9A-F]{8}, which is not in the backup: keep .*posgate\.db\.lmk safe, and apart from it$/m);
      const cases: [string[], string][] = [
        [['backup', '--db', db, '--out', copy], 'exists: a backup never overwrites a file'],
        [['backup', '--db', join(dir, 'nosuch.db'), '--out', join(dir, 'x.db')], 'no database at'],
        [['backup', '--db', 'postgres://postgres@127.0.0.1:5432/test', '--out', join(dir, 'y.db')], 'pg_dump'],
        [['restore', '--from', copy, '--db', db], 'is served by another posgate host'],
        [['restore', '--from', join(dir, 'nosuch.db'), '--db', join(dir, 'other.db')], 'no backup at'],
        [['restore', '--from', `${db}.lmk`, '--db', join(dir, 'other.db')], 'is not a sound SQLite database'],
        [['restore', '--from', copy, '--db', join(dir, 'elsewhere', 'posgate.db')], 'put the LMK kept with the backup'],
      ];
      for (const [args, message] of cases) {
        const r = posgateBinary(args);
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stderr).toContain(message);
      }
      // an LMK other than the backup's would serve a database whose keys it cannot open
      mkdirSync(join(dir, 'wrong'));
      writeFileSync(join(dir, 'wrong', 'posgate.db.lmk'), `${'5C'.repeat(32)}\n`, { mode: 0o600 });
      const wrong = posgateBinary(['restore', '--from', copy, '--db', join(dir, 'wrong', 'posgate.db')]);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/the backup's keys are under LMK [0-9A-F]{8}, and the LMK here is [0-9A-F]{8}/);
      expect(existsSync(join(dir, 'wrong', 'posgate.db'))).toBe(false);
      expect(existsSync(join(dir, 'y.db')) || existsSync(join(dir, 'x.db'))).toBe(false);
      // with its LMK named, a backup restores into a directory that does not exist yet
      const fresh = posgateBinary(['restore', '--from', copy, '--db', join(dir, 'new', 'place', 'posgate.db'), '--lmk-file', `${db}.lmk`]);
      expect({ code: fresh.code, stderr: fresh.stderr }).toEqual({ code: 0, stderr: '' });
      // the served database was neither moved aside nor replaced: the host still serves it
      expect(readdirSync(dir).filter((f) => f.includes('before-restore'))).toEqual([]);
      expect((await fetch(`http://127.0.0.1:${host.httpPort}/healthz`)).status).toBe(200);
    } finally {
      await host.stop();
    }
  });
});
