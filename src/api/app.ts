import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { HostMetrics } from '../host/index.js';
import type { Store } from '../store/index.js';
import { answerProblems } from './problem.js';

export interface ApiOptions {
  readonly store: Store;
  readonly metrics: HostMetrics;
  readonly isoConnections: () => number;
  readonly version: string;
  /** the host is stopping: load balancers should send terminals elsewhere */
  readonly stopping?: () => boolean;
}

/** The HTTP side. Today: health and Prometheus metrics; the merchant API plugs in here by domain. */
export function buildApi(options: ApiOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1 << 20 });
  answerProblems(app);
  app.get('/healthz', async (_req, reply) => {
    if (options.store.failure()) return reply.code(503).send({ status: 'unavailable', db: options.store.engine, reason: 'storage_failed' });
    if (options.stopping?.()) return reply.code(503).send({ status: 'stopping', db: options.store.engine });
    try {
      await sql`select 1`.execute(options.store.db);
      return { status: 'ok', version: options.version, db: options.store.engine, iso_connections: options.isoConnections() };
    } catch {
      return reply.code(503).send({ status: 'unavailable', db: options.store.engine });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    const stats = options.store.commitStats();
    const body = await options.metrics.registry.metrics();
    const checkpoints = options.store.checkpointStats();
    const extra =
      `# HELP posgate_store_commits_total group commits\n# TYPE posgate_store_commits_total counter\nposgate_store_commits_total ${stats.commits}\n# HELP posgate_store_units_total units of work committed\n# TYPE posgate_store_units_total counter\nposgate_store_units_total ${stats.units}\n` +
      (checkpoints
        ? `# HELP posgate_store_wal_checkpoints_total background WAL checkpoints that found the WAL changed (SQLite)\n# TYPE posgate_store_wal_checkpoints_total counter\nposgate_store_wal_checkpoints_total ${checkpoints.checkpoints}\n# HELP posgate_store_wal_frames WAL frames at the last background checkpoint\n# TYPE posgate_store_wal_frames gauge\nposgate_store_wal_frames ${checkpoints.walFrames}\n`
        : '');
    return reply.type(options.metrics.registry.contentType).send(body + extra);
  });
  return app;
}
