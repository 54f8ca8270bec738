import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sqlite, SQLITE_DRIVER } from '../../src/store/index.js';

/** The package.json of the module at `entry` (its lib/index.js). */
function packageOf(entry: string): { name: string; version: string } {
  return JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { name: string; version: string };
}

describe('the SQLite driver', () => {
  const major = Number(process.versions.node.split('.')[0]);

  it(`is better-sqlite3 ${major >= 24 ? '13 (Node-API)' : '12'} on Node ${major}`, () => {
    const pkg = packageOf(SQLITE_DRIVER);
    expect(pkg.name).toBe('better-sqlite3');
    // 12.x statements can abort the process when garbage-collected on Node >= 24.19 (sqlite-driver.ts)
    expect(Number(pkg.version.split('.')[0])).toBe(major >= 24 ? 13 : 12);
  });

  it('opens a database, and has the dbstat table that bench:wal reads', () => {
    const db = new Sqlite(':memory:');
    try {
      expect(db.prepare('select 1 as one').get()).toEqual({ one: 1 });
      expect(db.prepare('select count(*) as pages from dbstat').get()).toHaveProperty('pages');
    } finally {
      db.close();
    }
  });
});
