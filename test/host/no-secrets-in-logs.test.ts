import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutate, xorshift } from '../support/mutate.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { RawLink } from '../support/raw-link.js';
import { build, giveSpecKeys, saleFields, SPEC_KEYS } from '../support/spec-frames.js';
import type { Database } from '../../src/store/index.js';
import { ENGINES, postgresReachable } from '../support/stores.js';

/**
 * A secret written as a whole token — not inside a longer run of digits or hex (a timestamp, an id)
 * — in any case; a track's separator as '=' or as the 'D' of a packed track.
 */
const asToken = (secret: string) => {
  const escaped = secret.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&').replace(/=/g, '[=D]');
  return new RegExp(`(?<![0-9A-Fa-f])${escaped}(?![0-9A-Fa-f])`, 'i');
};

/**
 * The host logs at debug level through a whole working day — sign-ins, every demo card, wrong
 * PINs, chip reads, forged MACs, damaged frames, operator passwords, voids, refunds, settlement —
 * and its log holds no PAN, track, PIN, operator password or key, clear or wrapped.
 */
describe.each(ENGINES)('host on %s: what it logs', (engine) => {
  let p: TestPlatform | undefined;
  const lines: string[] = [];
  let dir = '';
  beforeAll(async () => {
    if (engine === 'postgres' && !(await postgresReachable())) return;
    dir = mkdtempSync(join(tmpdir(), 'posgate-log-'));
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    p = await startTestPlatform(engine, { dir, log: pino({ level: 'debug' }, sink) });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('holds no PAN, track, PIN, password or key after a day of business and abuse', async () => {
    if (!p) return;
    // Raw frames under the worked examples' keys: a forged MAC, damaged frames.
    await giveSpecKeys(p);
    const link = await RawLink.open(p.platform.iso.port);
    await link.exchange(build(saleFields('000901'), '0200', true));
    const rnd = xorshift(0x106);
    for (let i = 0; i < 60; i++) {
      const body = mutate(build(saleFields(String(910 + i).padStart(6, '0'))).subarray(2), rnd);
      let raw = link;
      if (raw.closed) raw = await RawLink.open(p.platform.iso.port);
      await raw.exchange(Buffer.concat([Buffer.from([body.length >> 8, body.length & 0xff]), body]));
    }
    link.close();

    // A working day on a software terminal.
    const t = p.terminal(0);
    expect((await t.signIn()).rc).toBe('00');
    for (const c of p.info.cards) await t.sale(p.card(c.pan), 1_234, c.pin);
    const good = p.card('6224242900000113');
    expect((await t.sale(good, 100, '654321')).rc).toBe('55');
    expect((await t.sale(p.card('6224242900000113', 'chip'), 200, '123456')).rc).toBe('00');
    expect(await t.verifyOperator('00', '468213')).toBe('55');
    expect(await t.changeOperatorPassword('00', '315926', '740285')).toBe('00');
    expect(await t.verifyOperator('00', '740285')).toBe('00');
    const sale = await t.sale(good, 300, '123456');
    expect(sale.rc).toBe('00');
    expect(await t.verifyOperator('00', '740285')).toBe('00');
    expect((await t.voidSale(sale.stan, '123456')).rc).toBe('00');
    const refundable = await t.sale(good, 400, '123456');
    await t.verifyOperator('00', '740285');
    expect((await t.refund(good, { rrn: refundable.rrn!, date: refundable.date!, batch: refundable.batch, stan: refundable.stan }, 100)).rc).toBe('00');
    expect((await t.settle()).rc).toBe('00');

    const log = lines.join('\n');
    // the log did record the day, at debug level, the abuse included
    expect(lines.length).toBeGreaterThan(20);
    expect(log).toContain('MAC verification failed');
    expect(log).toContain('financial request answered');

    const { db } = p.platform.store;
    const keyBlocks = (await db.selectFrom('terminals').select(['tmk', 'pik', 'mak', 'tdk']).execute()).flatMap((r) => [r.tmk, r.pik, r.mak, r.tdk]).filter((k): k is string => k !== null);
    const secrets: [string, string][] = [
      ...p.info.cards.map((c) => ['PAN', c.pan] as [string, string]),
      ...p.info.cards.map((c) => ['track 2', c.track2] as [string, string]),
      ['PIN', '123456'],
      ['wrong PIN', '654321'],
      ['operator password', '315926'],
      ['new operator password', '740285'],
      ['wrong operator password', '468213'],
      ...p.info.terminals.map((x) => ['TMK', x.tmk] as [string, string]),
      ['PIK', SPEC_KEYS.pik],
      ['MAK', SPEC_KEYS.mak],
      ['TDK', SPEC_KEYS.tdk],
      ['LMK', readFileSync(join(dir, 'lmk.key'), 'utf8').trim()],
      ...keyBlocks.map((k) => ['key block', k] as [string, string]),
    ];
    expect(keyBlocks.length).toBeGreaterThan(4);
    for (const [what, secret] of secrets) expect(asToken(secret).test(log), `${what} in the log`).toBe(false);

    // Nor does the database hold a PAN in clear, in any encoding: as text, or packed (BCD) inside a
    // stored message. A PAN at rest is its ciphertext, its keyed hash and its masked form only.
    const cells: string[] = [];
    // this store's tables (on PostgreSQL, those of its schema: other tests' schemas sit beside it)
    const schema = engine === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]!.s : undefined;
    const tables = (await db.introspection.getTables()).filter((t) => t.schema === schema).map((t) => t.name as keyof Database);
    expect(tables).toContain('transactions');
    for (const table of tables) {
      for (const row of await db.selectFrom(table).selectAll().execute()) {
        for (const v of Object.values(row)) if (typeof v === 'string') cells.push(v, /^[A-Za-z0-9+/]+={0,2}$/.test(v) ? Buffer.from(v, 'base64').toString('hex') : '');
      }
    }
    expect(cells.length).toBeGreaterThan(100);
    for (const c of p.info.cards) expect(cells.some((cell) => cell.includes(c.pan)), `the PAN of "${c.description}" in the database`).toBe(false);
  });
});
