import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Store } from '../store/index.js';

/** A lease not renewed for this long belongs to a host that is gone (it renews every third of it). */
export const LEASE_STALE_MS = 30_000;
const RENEW_MS = LEASE_STALE_MS / 3;
/** this run of this process: a holder with this machine's name and this pid but another run is an earlier run */
const THIS_RUN = randomBytes(6).toString('hex');

export class NodeLeaseError extends Error {
  readonly code = 'node_in_use';
  constructor(message: string) {
    super(message);
    this.name = 'NodeLeaseError';
  }
}

export interface NodeLease {
  /** `*` (an SQLite database) or the RRN node id */
  readonly node: string;
  /** stops renewing and gives the lease up, if it is still this process's */
  release(): Promise<void>;
}

/** Whether process `pid` lives on this machine (EPERM: it does, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims the right to serve `store` as RRN node `nodeId`: on SQLite the whole database (one writer,
 * one host), on PostgreSQL the node id (several hosts, each with its own). The lease is taken over
 * when its holder is gone — a process of this machine that no longer runs (or that had this
 * process's pid: an earlier run of it, as a container's pid 1 restarted), or a lease not renewed
 * for LEASE_STALE_MS (a host on another machine) — and otherwise refused with NodeLeaseError. It
 * is renewed in the background; `onLost` is called if another host took it meanwhile (this one
 * then stalled past LEASE_STALE_MS), since two hosts under one lease would hand out the same RRNs.
 */
export async function claimNodeLease(store: Store, nodeId: string, onLost: (message: string) => void, options: { renewMs?: number } = {}): Promise<NodeLease> {
  const node = store.engine === 'sqlite' ? '*' : nodeId;
  const what = node === '*' ? 'this database' : `RRN node id ${node} on this database`;
  const me = { holder: `${hostname()}:${process.pid}:${THIS_RUN}`, hostname: hostname(), pid: process.pid };
  const now = Date.now();
  await store.db.transaction().execute(async (trx) => {
    let query = trx.selectFrom('host_leases').selectAll().where('node', '=', node);
    if (store.engine === 'postgres') query = query.forUpdate();
    const held = await query.executeTakeFirst();
    if (held) {
      // A holder of this machine is gone when its process is; one with this process's own pid but
      // another run is an earlier run of it (a container's pid 1, restarted).
      const earlierRun = held.pid === process.pid && held.holder !== me.holder;
      const gone = (held.hostname === me.hostname && (earlierRun || !alive(held.pid))) || now - held.renewed_at > LEASE_STALE_MS;
      if (!gone) {
        throw new NodeLeaseError(
          `${what} is served by another posgate host (${held.hostname}, pid ${held.pid}, renewed ${Math.round((now - held.renewed_at) / 1000)} s ago)` +
            (store.engine === 'sqlite' ? ': stop it first' : ': stop it, or give this host another --node-id'),
        );
      }
      await trx.updateTable('host_leases').set({ ...me, started_at: now, renewed_at: now }).where('node', '=', node).execute();
    } else {
      await trx.insertInto('host_leases').values({ node, ...me, started_at: now, renewed_at: now }).execute();
    }
  }).catch((err: unknown) => {
    // two hosts starting at the same moment: the other one's insert came first
    if (!(err instanceof NodeLeaseError) && /unique|duplicate key/i.test(String((err as Error).message))) throw new NodeLeaseError(`another posgate host claimed ${what} at the same moment`);
    throw err;
  });

  let released = false;
  const renew = async () => {
    const r = await store.transact((trx) => trx.updateTable('host_leases').set({ renewed_at: Date.now() }).where('node', '=', node).where('holder', '=', me.holder).executeTakeFirst());
    if (!released && Number(r.numUpdatedRows) === 0) onLost(`the lease on ${what} was taken over by another host`);
  };
  const timer = setInterval(() => void renew().catch(() => undefined), options.renewMs ?? RENEW_MS);
  timer.unref();
  return {
    node,
    release: async () => {
      released = true;
      clearInterval(timer);
      await store.db.deleteFrom('host_leases').where('node', '=', node).where('holder', '=', me.holder).execute();
    },
  };
}
