import pino, { type Logger } from 'pino';
import { AuditLog } from '../audit/index.js';
import { cup, Iso8583Error, unpackCupFrame } from '../iso8583/index.js';
import type { Hsm } from '../hsm/index.js';
import type { IssuerSimulator } from '../issuer/index.js';
import { OutcomeInDoubtError, WalSyncError, type Store } from '../store/index.js';
import { AfterCommitError } from './after-commit.js';
import { RC } from './catalogue.js';
import { DEFAULT_HOST_CONFIG, type HostConfig } from './config.js';
import type { HostDeps, LinkInfo } from './context.js';
import { encodeResponse } from './encode.js';
import { createHostMetrics, type HostMetrics } from './metrics.js';
import { handleFrame, type FrameOutcome } from './pipeline.js';
import { echoFields } from './reply.js';
import { Request } from './request.js';
import { RegistryCache } from './registry-cache.js';
import { RrnGenerator } from './rrn.js';

export interface HostOptions {
  readonly store: Store;
  readonly hsm: Hsm;
  readonly issuer: IssuerSimulator;
  readonly config?: Partial<HostConfig>;
  readonly log?: Logger;
  readonly metrics?: HostMetrics;
}


/**
 * The acquiring host: one frame in, one outcome out. The TCP link (link.ts) feeds it; tests and
 * the load generator may call `handle` directly.
 */
export class AcquiringHost {
  readonly deps: HostDeps;
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(options: HostOptions) {
    const config = { ...DEFAULT_HOST_CONFIG, ...options.config };
    this.deps = {
      store: options.store,
      hsm: options.hsm,
      issuer: options.issuer,
      config,
      log: options.log ?? pino({ level: 'silent' }),
      metrics: options.metrics ?? createHostMetrics(),
      rrn: new RrnGenerator(config.nodeId),
      registry: new RegistryCache(options.store.read),
      audit: new AuditLog(options.store.engine, options.hsm),
      serialize: (key, work) => this.serialize(key, work),
    };
  }

  /** Runs `work` after any earlier work under the same key; a retransmission waits for its original. */
  private serialize<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.inflight.get(key) ?? Promise.resolve();
    const run = previous.then(work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.set(key, tail);
    void tail.then(() => {
      if (this.inflight.get(key) === tail) this.inflight.delete(key);
    });
    return run;
  }

  async handle(raw: Buffer, link: LinkInfo): Promise<FrameOutcome> {
    const started = process.hrtime.bigint();
    let outcome: FrameOutcome;
    try {
      outcome = await handleFrame(this.deps, raw, link);
    } catch (err) {
      outcome = await this.internalFailure(raw, err);
    }
    // a close is counted by the link that closes the connection (posgate_iso_frames_rejected_total)
    if ('response' in outcome) this.deps.metrics.answered(outcome.kind, outcome.rc, Number(process.hrtime.bigint() - started) / 1e9);
    return outcome;
  }

  /** 96 when nothing was committed and the request can be answered; otherwise nothing. */
  private async internalFailure(raw: Buffer, err: unknown): Promise<FrameOutcome> {
    this.deps.log.error({ err: err instanceof Error ? { message: err.message, name: err.name } : String(err) }, 'internal failure');
    if (err instanceof AfterCommitError) return { close: 'after_commit_failure' };
    // Committed but maybe not on disk: the outcome is in doubt, so no answer — the terminal then
    // reverses it once the restarted host is back (§7), and the reversal finds whatever survived.
    if (err instanceof WalSyncError) return { close: 'storage_failed' };
    if (err instanceof OutcomeInDoubtError) return { close: 'commit_in_doubt' };
    try {
      const frame = unpackCupFrame(cup, raw, true);
      const req = new Request(frame, raw, Date.now());
      const fields = { ...echoFields(req, req.mti !== '0800' && req.mti !== '0820' && req.mti !== '0500' && req.mti !== '0320'), 39: RC.systemMalfunction };
      const response = await encodeResponse(this.deps.hsm, req.mti, frame.tpdu, frame.header, '0', { fields, mac: false }, null);
      return { response, kind: 'internal_failure', rc: RC.systemMalfunction };
    } catch (inner) {
      if (inner instanceof Iso8583Error) return { close: 'undecodable' };
      return { close: 'internal_failure' };
    }
  }
}
