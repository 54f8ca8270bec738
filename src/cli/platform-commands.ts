import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { demoInfo, DEMO_MID, DEMO_OPERATORS } from '../demo/seed.js';
import { journal, JOURNAL_LIMIT_MAX, NodeLeaseError } from '../host/index.js';
import { verifyAuditChain } from '../audit/index.js';
import { HsmError, loadLmk, SoftwareHsm } from '../hsm/index.js';
import { verifyLedger } from '../ledger/index.js';
import { packageVersion, startPlatform } from '../platform/platform.js';
import { hostLogger } from '../platform/logger.js';
import { openStore, parseDbUrl, type Store } from '../store/index.js';
import { formatYuan } from '../terminal/index.js';
import { emit, shellWord, UsageError, type Io } from './output.js';

type Run = (action: () => Promise<void> | void, json: () => boolean) => Promise<void>;

export const DEFAULT_DB = 'data/posgate.db';

function port(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new UsageError('invalid_port', `${name} must be a port number 0–65535`);
  return n;
}

export function serveCommand(io: Io, run: Run, keepAlive: (close: () => Promise<void>) => void): Command {
  return new Command('serve')
    .description('run the acquiring host: ISO 8583 for terminals, HTTP for /healthz and /metrics')
    .option('--db <url>', 'SQLite file path or sqlite:PATH (embedded default), or postgres://…', DEFAULT_DB)
    .option('--iso-port <port>', 'ISO 8583 terminal port', '8583')
    .option('--http-port <port>', 'HTTP port', '3000')
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--demo', 'seed the demo merchant, terminals, operators and test cards (demo keys!)')
    .option('--demo-terminals <n>', 'number of demo terminals', '2')
    .option('--node-id <c>', 'this host among those on one PostgreSQL database: one character 0-9 or A-Z, part of every RRN', '0')
    .option('--lmk-file <path>', 'LMK key file (default: beside an SQLite database; PostgreSQL needs this or POSGATE_LMK)')
    .option('--tls-port <port>', 'also listen for terminals over TLS (1.2 or later) on this port, e.g. 8584')
    .option('--tls-cert <file>', 'server certificate chain (PEM) for --tls-port')
    .option('--tls-key <file>', 'server private key (PEM) for --tls-port')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'))
    .action((o) =>
      run(async () => {
        const terminals = Number(o.demoTerminals);
        if (!Number.isInteger(terminals) || terminals < 1 || terminals > 100_000) throw new UsageError('invalid_count', '--demo-terminals must be 1 to 100000');
        if (!/^[0-9A-Z]$/.test(o.nodeId)) throw new UsageError('invalid_node_id', '--node-id is one character 0-9 or A-Z');
        const log = hostLogger(o.logLevel);
        let tls: { port: number; cert: Buffer; key: Buffer } | undefined;
        if (o.tlsPort !== undefined) {
          if (!o.tlsCert || !o.tlsKey) throw new UsageError('tls_files', '--tls-port needs --tls-cert and --tls-key');
          try {
            tls = { port: port(o.tlsPort, '--tls-port'), cert: readFileSync(o.tlsCert), key: readFileSync(o.tlsKey) };
          } catch (err) {
            if (err instanceof UsageError) throw err;
            throw new UsageError('tls_files', `cannot read the TLS certificate or key: ${(err as Error).message}`);
          }
        }
        let stop: (() => Promise<void>) | undefined;
        const platform = await startPlatform({
          config: { nodeId: o.nodeId },
          // Another host holds this one's lease now: two hosts under one lease would hand out the
          // same RRNs, so this one stops.
          onLeaseLost: (message) => {
            log.fatal(`${message}: stopping`);
            process.exitCode = 1;
            void stop?.();
          },
          db: o.db,
          isoPort: port(o.isoPort, '--iso-port'),
          httpPort: port(o.httpPort, '--http-port'),
          hostname: o.host,
          demo: Boolean(o.demo),
          demoTerminals: terminals,
          ...(o.lmkFile ? { lmkFile: o.lmkFile } : {}),
          ...(tls ? { tls } : {}),
          log,
        }).catch((err: unknown) => {
          if (err instanceof NodeLeaseError) throw new UsageError('node_in_use', err.message);
          throw err;
        });
        stop = () => platform.close();
        const shown = o.host === '0.0.0.0' ? 'localhost' : o.host;
        const lines = [
          `posgate ${packageVersion()} — POS acquiring host`,
          `  database   ${platform.store.location}`,
          `  terminals  ISO 8583 on ${o.host}:${platform.iso.port}${platform.isoTls ? `, TLS on ${o.host}:${platform.isoTls.port}` : ''}`,
          `  HTTP       http://${shown}:${platform.httpPort}/  (portal and API arrive here; /healthz, /metrics today)`,
        ];
        if (platform.seeded) {
          lines.push(`  demo       merchant ${DEMO_MID}, terminals ${platform.seeded.terminals.slice(0, 4).join(', ')}${platform.seeded.terminals.length > 4 ? ', …' : ''} (demo keys: never in production)`);
          // the database as the line above shows it (a password in a PostgreSQL URL masked), quoted for a shell
          lines.push(`             npx posgate demo info${o.db === DEFAULT_DB ? '' : ` --db ${shellWord(platform.store.location)}`}   — TMKs, operators and test cards`);
          const cashier = DEMO_OPERATORS.find((op) => op.no === '01')!;
          lines.push(`             npx posgate terminal --demo 1 --port ${platform.iso.port}   — a POS at the keyboard (sign in: cashier ${cashier.no}, password ${cashier.password})`);
        }
        io.err(lines.join('\n'));
        keepAlive(() => platform.close());
      }, () => false),
    );
}

/**
 * The HSM module under the database's LMK, for a command that needs keys, keyed hashes or the audit
 * seal: the key file given, else the one beside an SQLite database, else POSGATE_LMK. Never creates one.
 */
export function storeHsm(store: Store, lmkFile: string | undefined): SoftwareHsm {
  const file = lmkFile ?? (store.file ? `${store.file}.lmk` : undefined);
  try {
    return new SoftwareHsm(loadLmk({ ...(file ? { file } : {}), create: false }));
  } catch (err) {
    if (err instanceof HsmError) throw new UsageError('no_lmk', err.message);
    throw err;
  }
}

/** Opens an existing database for a command that reads it: a mistyped path is an error, never a new, empty database. */
export async function withStore<T>(db: string, work: (store: Store) => Promise<T>): Promise<T> {
  const { engine, target } = parseDbUrl(db);
  if (engine === 'sqlite' && target !== ':memory:' && !existsSync(target)) throw new UsageError('no_database', `no database at ${target}`);
  const store = await openStore(db);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

export function demoCommand(io: Io, run: Run): Command {
  const demo = new Command('demo').description('the demo merchant, terminals and test cards');
  demo
    .command('info')
    .description('the demo terminals (TID, MID, TMK, operators) and test cards')
    .option('--db <url>', 'database', DEFAULT_DB)
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(() =>
        withStore(o.db, async (store) => {
          const info = await demoInfo(store);
          if (info.terminals.length === 0) throw new UsageError('no_demo', `no demo data in ${store.location}: start it with "posgate serve --demo"`);
          emit(io, o.json, info, () => [
            'Demo terminals (fixed demo TMKs — never use them in production):',
            ...info.terminals.map((t) => `  TID ${t.tid}  MID ${t.mid}  serial ${t.serial}  TMK ${t.tmk}`),
            `Operators (default passwords, to be changed): ${info.terminals[0]!.operators.map((op) => `${op.no} ${op.role} ${op.password}`).join(' · ')}`,
            'Test cards (a PIN sale of ¥12.34 with this PIN gets this answer):',
            ...info.cards.map((c) => `  ${c.pan.padEnd(19)} exp ${c.expiry}  PIN ${c.pin}  → ${c.expect}  ${c.description}\n      stripe ${c.track2}`),
          ]);
        }), () => o.json),
    );
  return demo;
}

export function ledgerCommand(io: Io, run: Run, setExit: (code: number) => void): Command {
  const ledger = new Command('ledger').description('the double-entry ledger');
  ledger
    .command('verify')
    .description('check that every posting balances and every balance equals the sum of its postings')
    .option('--db <url>', 'database', DEFAULT_DB)
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(() =>
        withStore(o.db, async (store) => {
          const report = await verifyLedger(store.db);
          emit(io, o.json, report, () => [
            report.ok ? 'ledger OK: every posting balances and every balance equals its postings' : 'ledger NOT OK',
            `  ${report.postings} postings, ${report.lines} lines, ${report.accounts} accounts`,
            '  balances (debits positive, credits negative):',
            ...[...Object.entries(report.totals), ['merchants_pending', report.merchants.pendingFen] as const, ['merchants_available', report.merchants.availableFen] as const].map(([a, v]) => `  ${a.padEnd(20)} ${formatYuan(v).padStart(16)}`),
            ...report.unbalancedPostings.map((u) => `  unbalanced posting ${u.posting}: lines sum to ${u.sumFen} fen`),
            ...report.accountMismatches.map((m) => `  account ${m.account}: balance ${m.balanceFen} fen, postings ${m.linesFen} fen`),
          ]);
          if (!report.ok) setExit(1);
        }), () => o.json),
    );
  return ledger;
}

export function transactionsCommand(io: Io, run: Run): Command {
  return new Command('transactions')
    .description('the host\'s latest transaction records, newest first (masked card numbers): did it go through?')
    .option('--tid <tid>', 'this terminal\'s')
    .option('--mid <mid>', 'this merchant\'s')
    .option('--rrn <rrn>', 'the one with this reference number (as on the receipt)')
    .option('--limit <n>', `how many, 1 to ${JOURNAL_LIMIT_MAX}`, '20')
    .option('--db <url>', 'database', DEFAULT_DB)
    .option('--json', 'print one JSON object')
    .action((o: { tid?: string; mid?: string; rrn?: string; limit: string; db: string; json?: boolean }) =>
      run(() =>
        withStore(o.db, async (store) => {
          const limit = Number(o.limit);
          if (!/^\d{1,4}$/.test(o.limit) || limit < 1 || limit > JOURNAL_LIMIT_MAX) throw new UsageError('invalid_limit', `--limit is 1 to ${JOURNAL_LIMIT_MAX}`);
          const lines = await journal(store.db, { limit, ...(o.tid ? { tid: o.tid } : {}), ...(o.mid ? { mid: o.mid } : {}), ...(o.rrn ? { rrn: o.rrn } : {}) });
          emit(io, Boolean(o.json), lines, () =>
            lines.length === 0
              ? ['no transactions']
              : lines.map((t) => `${t.local_time} +08:00  ${t.tid}  ${String(t.batch).padStart(6, '0')}/${t.stan}  ${t.kind.padEnd(15)} ${formatYuan(t.amount_fen).padStart(12)}  ${(t.pan_masked ?? '-').padEnd(19)} ${t.response_code}  ${t.status.padEnd(9)} RRN ${t.rrn}${t.auth_code ? `  auth ${t.auth_code}` : ''}${t.password_free ? '  免密' : ''}`),
          );
        }), () => Boolean(o.json)),
    );
}

export function auditCommand(io: Io, run: Run, setExit: (code: number) => void): Command {
  const audit = new Command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('check every entry of the audit log against its seal and the one before (needs the LMK)')
    .option('--db <url>', 'database', DEFAULT_DB)
    .option('--lmk-file <path>', 'LMK key file (default: beside an SQLite database; or POSGATE_LMK)')
    .option('--json', 'print one JSON object')
    .action((o) =>
      run(() =>
        withStore(o.db, async (store) => {
          const report = await verifyAuditChain(store.db, storeHsm(store, o.lmkFile));
          emit(io, o.json, report, () => [
            report.ok ? `audit log OK: ${report.events} entries, every seal and link holds` : `audit log NOT OK: the chain breaks at entry ${report.brokenAt} of ${report.events}`,
          ]);
          if (!report.ok) setExit(1);
        }), () => o.json),
    );
  return audit;
}
