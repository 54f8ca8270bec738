import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoChipCard, demoInfo, type DemoInfo } from '../../src/demo/seed.js';
import type { HostConfig } from '../../src/host/index.js';
import { startPlatform, type Platform, type PlatformOptions } from '../../src/platform/platform.js';
import type { Engine } from '../../src/store/index.js';
import { ChipCardSimulator, MemoryStorage, SoftTerminal, type CardPresentation, type SaleResult, type TerminalOptions } from '../../src/terminal/index.js';
import { afterAll, beforeAll } from 'vitest';
import { freshPostgresSchema, postgresReachable } from './stores.js';

export interface TestPlatform {
  readonly platform: Platform;
  readonly info: DemoInfo;
  readonly db: string;
  /** the LMK key file the platform was started with */
  readonly lmkFile: string;
  /** a software terminal for demo terminal `index`, TMK injected, not yet signed in */
  terminal(index?: number, options?: Partial<TerminalOptions>): SoftTerminal;
  /** a demo card as presented: swipes carry its stripe, chip and tap reads its (simulated) chip */
  card(pan: string, entry?: CardPresentation['entry']): CardPresentation;
  close(): Promise<void>;
}

/** The whole platform on loopback with ephemeral ports: SQLite in a temp dir, or a fresh PostgreSQL schema. */
export async function startTestPlatform(engine: Engine, options: { terminals?: number; config?: Partial<HostConfig>; dir?: string; log?: Logger; store?: PlatformOptions['store'] } = {}): Promise<TestPlatform> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'posgate-'));
  const lmkFile = join(dir, 'lmk.key');
  writeFileSync(lmkFile, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  let db: string;
  let dropSchema: (() => Promise<void>) | undefined;
  if (engine === 'sqlite') db = `sqlite:${join(dir, 'posgate.db')}`;
  else {
    const schema = await freshPostgresSchema();
    db = schema.url;
    dropSchema = schema.drop;
  }
  const platform = await startPlatform({ db, isoPort: 0, httpPort: 0, hostname: '127.0.0.1', demo: true, demoTerminals: options.terminals ?? 2, lmkFile, ...(options.config ? { config: options.config } : {}), ...(options.log ? { log: options.log } : {}), ...(options.store ? { store: options.store } : {}) });
  const info = await demoInfo(platform.store);
  const terminals: SoftTerminal[] = [];
  const byIndex = new Map<number, SoftTerminal>();
  // One chip per card, so that its transaction counter (ATC) keeps rising as a real card's does.
  const chips = new Map<string, ChipCardSimulator>();
  const chipOf = (pan: string) => {
    let chip = chips.get(pan);
    if (!chip) chips.set(pan, (chip = demoChipCard(pan)));
    return chip;
  };
  return {
    platform,
    info,
    db,
    lmkFile,
    terminal(index = 0, extra = {}) {
      // One terminal object per demo terminal, so its STAN and batch carry on between tests.
      const known = byIndex.get(index);
      if (known && Object.keys(extra).length === 0) return known;
      const t = info.terminals[index]!;
      const terminal = new SoftTerminal({ tid: t.tid, mid: t.mid, endpoint: { host: '127.0.0.1', port: platform.iso.port }, storage: new MemoryStorage(), responseTimeoutMs: 5_000, ...extra });
      if (!terminal.hasTmk) terminal.injectTmk(t.tmk);
      terminals.push(terminal);
      byIndex.set(index, terminal);
      return terminal;
    },
    card(pan, entry = 'swipe') {
      const c = info.cards.find((x) => x.pan === pan);
      const chip = entry === 'chip' || entry === 'tap' ? { chip: chipOf(pan) } : {};
      if (!c) return { entry, pan, expiry: '2812', ...chip };
      return { entry, pan: c.pan, expiry: c.expiry, ...(entry === 'swipe' || entry === 'fallback' ? { track2: c.track2 } : {}), ...chip };
    },
    async close() {
      for (const t of terminals) t.close();
      await platform.close();
      await dropSchema?.();
    },
  };
}

/**
 * One platform for a describe block on `engine` (started before its tests, closed after). The getter
 * answers undefined when PostgreSQL is not reachable on a developer machine (CI insists on it).
 */
export function platformFor(engine: Engine, options: Parameters<typeof startTestPlatform>[1] = {}): () => TestPlatform | undefined {
  let platform: TestPlatform | undefined;
  beforeAll(async () => {
    if (engine === 'postgres' && !(await postgresReachable())) return;
    platform = await startTestPlatform(engine, options);
  });
  afterAll(async () => platform?.close());
  return () => platform;
}

/**
 * As if the terminal had never read the answer to `sale`: its pending reversal is put back (§8.1),
 * from the fields the answer echoed, and goes out before the terminal's next financial request.
 */
export function loseAnswer(t: SoftTerminal, sale: SaleResult): void {
  const fields = Object.fromEntries([2, 3, 4, 11, 22, 25, 41, 42, 49, 60].filter((n) => sale.response!.get(n) !== undefined || n === 22).map((n) => [String(n), n === 22 ? '021' : String(sale.response!.get(n))]));
  (t as unknown as { state: { pendingReversal?: unknown } }).state.pendingReversal = { mti: '0200', reason: '98', fields };
}
