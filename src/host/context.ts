import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import type { Hsm } from '../hsm/index.js';
import type { IssuerSimulator } from '../issuer/index.js';
import type { Merchant, Terminal } from '../merchants/index.js';
import type { Store } from '../store/index.js';
import type { CardInput } from './card-input.js';
import type { CatalogueEntry } from './catalogue.js';
import type { LocalTime } from './clock.js';
import type { HostConfig } from './config.js';
import type { HostMetrics } from './metrics.js';
import type { Request } from './request.js';
import type { RegistryCache } from './registry-cache.js';
import type { RrnGenerator } from './rrn.js';

/** What every step can reach. */
export interface HostDeps {
  readonly store: Store;
  readonly hsm: Hsm;
  readonly issuer: IssuerSimulator;
  readonly config: HostConfig;
  readonly log: Logger;
  readonly metrics: HostMetrics;
  readonly rrn: RrnGenerator;
  /** terminal and merchant rows for steps 2–5; forget a terminal whenever this process changes it */
  readonly registry: RegistryCache;
  /** the tamper-evident log of security events, sealed by the HSM module */
  readonly audit: AuditLog;
  /** runs `work` after any request with the same key still in flight has finished */
  serialize<T>(key: string, work: () => Promise<T>): Promise<T>;
}


/** The state of one request after §7 steps 1–8. */
export interface Ctx {
  readonly deps: HostDeps;
  readonly req: Request;
  readonly entry: CatalogueEntry;
  readonly terminal: Terminal;
  readonly merchant: Merchant;
  readonly now: number;
  readonly local: LocalTime;
  readonly macVerified: boolean;
  readonly card?: CardInput;
  /** whether the link is TLS, and the peer is loopback (activation rules, §10.1) */
  readonly link: LinkInfo;
}

export interface LinkInfo {
  readonly remote: string;
  readonly tls: boolean;
  readonly loopback: boolean;
}
