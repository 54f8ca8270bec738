/** The acquiring host: the ISO 8583 terminal link and the authorisation pipeline. */
export { AcquiringHost, type HostOptions } from './host.js';
export { listenIso, type IsoListener } from './link.js';
export { DEFAULT_HOST_CONFIG, type HostConfig } from './config.js';
export { createHostMetrics, type HostMetrics } from './metrics.js';
export { RC } from './catalogue.js';
export { qpsParameters } from './management.js';
export type { LinkInfo } from './context.js';
export { claimNodeLease, LEASE_STALE_MS, NodeLeaseError, type NodeLease } from './node-lease.js';
export { journal, JOURNAL_LIMIT_MAX, type JournalFilter, type JournalLine } from './journal.js';
