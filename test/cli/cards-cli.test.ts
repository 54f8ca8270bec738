import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { luhnCheckDigit } from '../../src/crypto/index.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { posgateBinaryAsync } from './run-cli.js';

/** A card of the engineer's own, not one of the demo's. */
const PAN = `621234567890123${luhnCheckDigit('621234567890123')}`;
const PIN = '246810';

describe('posgate cards: an engineer\'s own test cards at the issuer simulator', () => {
  let p: TestPlatform;
  let cards: (args: string[], stdin?: string) => ReturnType<typeof posgateBinaryAsync>;
  beforeAll(async () => {
    p = await startTestPlatform('sqlite');
    cards = (args, stdin) => posgateBinaryAsync(['cards', ...args, '--db', p.db, ...(args[0] === 'add' ? ['--lmk-file', p.lmkFile] : [])], stdin ?? '');
  });
  afterAll(async () => p.close());

  it('a card added with its PAN and PIN on standard input pays at a terminal, runs out of funds, and is declined once reported lost', async () => {
    const added = await cards(['add', '--expiry', '3012', '--balance', '200.00'], `${PAN}\n${PIN}\n`);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^card 621234\*{6}\d{4} issued \(card_[^)]+\): debit, expiry 3012, funds RMB 200\.00/);
    expect(added.stdout + added.stderr).not.toContain(PAN);
    const card = { entry: 'keyed' as const, pan: PAN, expiry: '3012' };

    const t = p.terminal(0);
    expect((await t.signIn()).rc).toBe('00');
    expect((await t.sale(card, 15_000, PIN)).rc).toBe('00');
    expect((await t.sale(card, 6_000, PIN)).rc).toBe('51');
    expect((await t.sale(card, 100, '135790')).rc).toBe('55');

    const listed = (await cards(['list', '--json'])).json<{ id: string; pan_masked: string; available_fen: number; status: string }[]>();
    const mine = listed.find((c) => c.pan_masked === `621234******${PAN.slice(-4)}`)!;
    expect(mine).toMatchObject({ available_fen: 5_000, status: 'active' });
    expect((await cards(['list'])).stdout).toMatch(new RegExp(`${mine.id}\\s+621234\\*{6}${PAN.slice(-4)}\\s+3012\\s+CUP\\s+debit\\s+active\\s+available RMB\\s+50\\.00`));

    expect((await cards(['set', '--id', mine.id, '--status', 'lost'])).stdout).toContain(`card ${mine.id} changed: lost`);
    expect((await t.sale(card, 100, PIN)).rc).toBe('41');
    // the PAN is kept only encrypted, beside its keyed hash and masked form
    const row = await p.platform.store.db.selectFrom('cards').selectAll().where('id', '=', mine.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(PAN);
  });

  it('posgate transactions shows support what the host recorded for those sales, newest first, declines included, the card masked', async () => {
    const tx = (args: string[]) => posgateBinaryAsync(['transactions', ...args, '--db', p.db]);
    const lines = (await tx(['--tid', '30000001', '--limit', '4', '--json'])).json<{ at: string; local_time: string; kind: string; amount_fen: number; response_code: string; status: string; rrn: string; pan_masked: string }[]>();
    expect(lines.map((l) => [l.kind, l.amount_fen, l.response_code, l.status])).toEqual([
      ['sale', 100, '41', 'declined'],
      ['sale', 100, '55', 'declined'],
      ['sale', 6_000, '51', 'declined'],
      ['sale', 15_000, '00', 'approved'],
    ]);
    const approved = lines[3]!;
    // the time a support person matches against the receipt: China's clock, eight hours ahead of UTC
    const china = new Date(Date.parse(approved.at) + 8 * 3600_000).toISOString();
    expect(approved.local_time).toBe(`${china.slice(0, 10)} ${china.slice(11, 19)}`);
    const found = await tx(['--rrn', approved.rrn]);
    expect(found.stdout).toMatch(new RegExp(`^${approved.local_time} \\+08:00  30000001  000001/\\d{6}  sale\\s+150\\.00  621234\\*{6}${PAN.slice(-4)}\\s+00  approved\\s+RRN ${approved.rrn}  auth \\d{6}`));
    expect(found.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.stringify(lines) + found.stdout).not.toContain(PAN);
    expect((await tx(['--limit', '0'])).stderr).toContain('--limit is 1 to 1000');
  });

  it('refuses what cannot be right, with a clear message and exit code 2', async () => {
    const cases: [string[], string, string][] = [
      [['add', '--expiry', '3012'], `${PAN}\n${PIN}\n`, 'is already issued'],
      [['add', '--expiry', '3012'], `${PAN.slice(0, -1)}${(Number(PAN.slice(-1)) + 1) % 10}\n${PIN}\n`, 'whose last one checks (Luhn)'],
      [['add', '--expiry', '3012'], `${PAN}\n12\n`, 'a PIN is 4 to 12 digits'],
      [['add', '--expiry', '3013'], `${PAN}\n${PIN}\n`, '--expiry is YYMM'],
      [['add', '--expiry', '3012', '--kind', 'credit'], `${PAN}\n${PIN}\n`, 'a credit card needs --credit-limit'],
      [['set', '--id', 'card_nosuch', '--status', 'lost'], '', 'no card card_nosuch'],
      [['set', '--id', 'card_nosuch'], '', 'give --status or --balance'],
    ];
    for (const [args, stdin, message] of cases) {
      const r = await cards(args, stdin);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain(PIN);
    }
  });
});
