/**
 * `npm run bench:wal`: where an SQLite group commit's writes go. A commit costs the host's main
 * thread about as much per page it dirtied (each page is one WAL frame, written by COMMIT) as per
 * statement, so this says which table or index makes a sale's commit dear: the host runs under the
 * benchmark load, its WAL is copied halfway through, and every committed frame in the copy is
 * attributed to the B-tree its page belongs to. Terminals: BENCH_TERMINALS (64), seconds:
 * BENCH_SECONDS (8).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad, spawnHost, storeCommitted } from '../src/loadgen/index.js';
import { Sqlite } from '../src/store/index.js';
import { benchSettings } from './settings.js';

const { terminals, seconds } = benchSettings(8);

const WAL_MAGIC = [0x377f0682, 0x377f0683];
const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;

/** One committed transaction in a WAL: the pages it wrote, keyed by the WAL generation (salts) and its commit frame's offset. */
interface Commit {
  readonly key: string;
  readonly pages: readonly number[];
}

/** The committed transactions of a WAL copy's current generation (its frames carry the header's salts), and its page size. */
function committedTransactions(wal: Buffer): { pageSize: number; commits: Commit[] } {
  if (wal.length < WAL_HEADER_BYTES || !WAL_MAGIC.includes(wal.readUInt32BE(0))) throw new Error('not a SQLite WAL file');
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  const commits: Commit[] = [];
  let pages: number[] = [];
  for (let at = WAL_HEADER_BYTES; at + FRAME_HEADER_BYTES + pageSize <= wal.length; at += FRAME_HEADER_BYTES + pageSize) {
    // A frame of an earlier generation (left behind by a WAL reset) has other salts: the log ends there.
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    pages.push(wal.readUInt32BE(at));
    // a commit frame carries the database size; frames after the last one belong to no commit yet
    if (wal.readUInt32BE(at + 4) !== 0) {
      commits.push({ key: `${salt1}:${salt2}:${at}`, pages });
      pages = [];
    }
  }
  return { pageSize, commits };
}

/** Each page's B-tree, named as a reader would: the table, or the index with its table and columns. */
function pageOwners(file: string): Map<number, string> {
  const db = new Sqlite(file, { readonly: true });
  try {
    const label = new Map<string, string>();
    for (const row of db.prepare(`select name, tbl_name as tbl, type from sqlite_schema where type in ('table', 'index')`).all() as { name: string; tbl: string; type: string }[]) {
      if (row.type === 'table') label.set(row.name, `table ${row.name}`);
      else {
        const columns = (db.prepare(`select name from pragma_index_info(?)`).all(row.name) as { name: string }[]).map((c) => c.name).join(', ');
        label.set(row.name, `index ${row.tbl} (${columns})${row.name.startsWith('sqlite_autoindex_') ? ', unique' : ''}`);
      }
    }
    const owners = new Map<number, string>();
    for (const { name, pageno } of db.prepare('select name, pageno from dbstat').all() as { name: string; pageno: number }[]) owners.set(pageno, label.get(name) ?? name);
    return owners;
  } finally {
    db.close();
  }
}

const file = join(mkdtempSync(join(tmpdir(), 'posgate-wal-')), 'bench.db');
const host = await spawnHost(['--demo', '--demo-terminals', String(terminals), '--db', `sqlite:${file}`]);
// The checkpointer resets the WAL every few dozen commits: copies taken every half second through
// the measured window, each commit counted once (the same commit is in every copy until a reset).
const commits = new Map<string, readonly number[]>();
let pageSize = 0;
let counts: Promise<{ units: number; commits: number } | undefined> | undefined;
try {
  const report = await runLoad({
    host: '127.0.0.1',
    port: host.isoPort,
    terminals,
    durationMs: seconds * 1000,
    onProgress: (p) => {
      if (p.elapsedMs === 0) return;
      const copy = committedTransactions(readFileSync(`${file}-wal`));
      pageSize = copy.pageSize;
      for (const c of copy.commits) commits.set(c.key, c.pages);
      counts = storeCommitted(host.httpPort).catch(() => undefined);
    },
  });
  console.log(`posgate WAL pages per group commit: SQLite, ${terminals} terminals doing PIN sales, ${Math.round(report.perSecond).toLocaleString('en-US')} sales/s over ${seconds} s`);
} finally {
  await host.stop();
}
if (commits.size === 0) throw new Error('no committed transaction was seen in the WAL copies');
const owners = pageOwners(file);
const byTree = new Map<string, number>();
let total = 0;
for (const pages of commits.values()) {
  for (const page of pages) {
    const owner = owners.get(page) ?? 'pages freed since';
    byTree.set(owner, (byTree.get(owner) ?? 0) + 1);
    total++;
  }
}
const run = (await counts) ?? { units: NaN, commits: NaN };
console.log(
  `${commits.size.toLocaleString('en-US')} commits seen in the WAL, ${(total / commits.size).toFixed(1)} pages of ${pageSize} bytes each` +
    (run.commits > 0 ? `; ${(run.units / run.commits).toFixed(1)} units of work (sales) per commit over the run` : ''),
);
for (const [owner, n] of [...byTree].sort((a, b) => b[1] - a[1])) {
  console.log(`  ${(n / commits.size).toFixed(1).padStart(6)} pages  ${((100 * n) / total).toFixed(0).padStart(3)} %  ${owner}`);
}
