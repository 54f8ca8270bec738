import { readFileSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { buildApi } from '../api/app.js';
import { seedDemo, type SeedResult } from '../demo/seed.js';
import { AcquiringHost, claimNodeLease, createHostMetrics, DEFAULT_HOST_CONFIG, listenIso, type HostConfig, type IsoListener, type NodeLease } from '../host/index.js';
import { loadLmk, SoftwareHsm, type Hsm } from '../hsm/index.js';
import { IssuerSimulator } from '../issuer/index.js';
import { ensureSystemAccounts } from '../ledger/index.js';
import { openStore, type Store, type StoreOptions } from '../store/index.js';
import { systemKey } from './system-keys.js';

export interface PlatformOptions {
  /** `--db`: a file path, `sqlite:PATH` or `postgres://…` */
  readonly db: string;
  readonly isoPort: number;
  readonly httpPort: number;
  readonly hostname?: string;
  readonly demo?: boolean;
  readonly demoTerminals?: number;
  /** LMK key file; default beside an SQLite database, required (or POSGATE_LMK) for PostgreSQL */
  readonly lmkFile?: string;
  /** the optional TLS listener (protocol §1.4): same frames, server certificate and key in PEM */
  readonly tls?: { readonly port: number; readonly cert: Buffer; readonly key: Buffer };
  readonly log?: Logger;
  readonly config?: Partial<HostConfig>;
  readonly store?: Omit<StoreOptions, 'migrate'>;
  /** another host took this one's lease (see claimNodeLease); default: an error in the log */
  readonly onLeaseLost?: (message: string) => void;
}

export interface Platform {
  readonly store: Store;
  readonly hsm: Hsm;
  readonly issuer: IssuerSimulator;
  readonly host: AcquiringHost;
  readonly iso: IsoListener;
  readonly isoTls?: IsoListener;
  readonly httpPort: number;
  readonly seeded?: SeedResult;
  /** stops gracefully (see IsoListener.close); calling it again waits for the same stop */
  close(): Promise<void>;
}

export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The issuer simulator on this database, with its PIN verification key (made inside the HSM on first use). */
export async function openIssuer(store: Store, hsm: Hsm, preauthValidDays = DEFAULT_HOST_CONFIG.preauthValidDays): Promise<IssuerSimulator> {
  const pvk = await systemKey(store, hsm, 'issuer_pvk', { algorithm: 'tdes', length: 16, usage: 'pvk' });
  return new IssuerSimulator(hsm, pvk, store.engine, preauthValidDays);
}

/** Opens the store, the HSM and the issuer simulator, seeds the demo if asked, and starts both listeners. */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const log = options.log ?? pino({ level: 'silent' });
  const store = await openStore(options.db, options.store ?? {});
  let lease: NodeLease | undefined;
  try {
    // before anything is written: a second host on the same data stops here
    lease = await claimNodeLease(store, options.config?.nodeId ?? DEFAULT_HOST_CONFIG.nodeId, options.onLeaseLost ?? ((message) => log.error(message)));
    const lmkFile = options.lmkFile ?? (store.file ? `${store.file}.lmk` : undefined);
    const lmk = loadLmk({ ...(lmkFile ? { file: lmkFile } : {}), create: store.engine === 'sqlite' && options.lmkFile === undefined });
    const hsm = new SoftwareHsm(lmk);
    const issuer = await openIssuer(store, hsm, options.config?.preauthValidDays);
    await store.transact((trx) => ensureSystemAccounts(trx));
    const seeded = options.demo ? await seedDemo(store, hsm, issuer, options.demoTerminals ?? 2) : undefined;
    const metrics = createHostMetrics();
    const host = new AcquiringHost({ store, hsm, issuer, log, metrics, ...(options.config ? { config: options.config } : {}) });
    // an audit chain from before its seal was keyed is checked and sealed under the LMK, once
    const audit = await store.transact((trx) => host.deps.audit.reseal(trx));
    if (audit.outcome === 'resealed') log.info({ entries: audit.entries }, 'audit log sealed under the LMK');
    if (audit.outcome === 'broken') log.error({ entry: audit.brokenAt }, 'audit log chain broken: left as it is for investigation');
    const iso = await listenIso(host, { port: options.isoPort, ...(options.hostname ? { hostname: options.hostname } : {}) });
    const isoTls = options.tls
      ? await listenIso(host, { port: options.tls.port, ...(options.hostname ? { hostname: options.hostname } : {}), tls: { cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' } })
      : undefined;
    let stopping = false;
    let closed: Promise<void> | undefined;
    const api = buildApi({ store, metrics, stopping: () => stopping, isoConnections: () => iso.connections() + (isoTls?.connections() ?? 0), version: packageVersion() });
    await api.listen({ port: options.httpPort, host: options.hostname ?? '0.0.0.0' });
    const address = api.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : options.httpPort;
    log.info({ iso_port: iso.port, http_port: httpPort, db: store.location, lmk: lmk.id }, 'posgate host started');
    return {
      store,
      hsm,
      issuer,
      host,
      iso,
      ...(isoTls ? { isoTls } : {}),
      httpPort,
      ...(seeded ? { seeded } : {}),
      close: () =>
        (closed ??= (async () => {
          stopping = true; // /healthz says so while the listeners answer what they have taken in
          await Promise.all([iso.close(), isoTls?.close()]);
          await api.close();
          await lease?.release();
          await store.close();
        })()),
    };
  } catch (err) {
    await lease?.release().catch(() => undefined);
    await store.close();
    throw err;
  }
}
