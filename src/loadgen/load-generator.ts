import { demoTmk, demoTid, DEMO_MID, LOAD_TEST_PIN, loadTestCard } from '../demo/seed.js';
import { MemoryStorage, SoftTerminal } from '../terminal/index.js';


/**
 * Drives N software terminals over long-lived connections, each doing PIN sales with MAC back to
 * back (SoftTerminal.repeatedSale: the request packed once, a new STAN and MAC each time, the
 * answer's MAC checked), and measures what the host delivers. Bounded: it stops at the deadline.
 */
export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly terminals: number;
  readonly durationMs: number;
  readonly warmupMs?: number;
  readonly amountFen?: number;
  /** called about twice a second with the figures so far */
  readonly onProgress?: (p: LoadProgress) => void;
  /**
   * `reflector`: the far end echoes frames back (the null host of the benchmark). The terminals do
   * the same work to build each request, but take any matching frame as the answer; without this,
   * a host would fail MAC checks it cannot pass.
   */
  readonly reflector?: boolean;
  /**
   * A terminal settles after the sale with this STAN and sells on in a new batch (default 999,999:
   * the STAN then wraps to 000001, field 11, which in the same batch would be a duplicate).
   */
  readonly settleAfterStan?: number;
}

export interface LoadProgress {
  readonly elapsedMs: number;
  readonly approved: number;
  readonly perSecond: number;
  readonly errors: number;
}

export interface LoadReport {
  readonly terminals: number;
  readonly durationMs: number;
  readonly requests: number;
  readonly approved: number;
  readonly perSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  /** response code (or no_response, mac_failure, exception) → count, for everything but 00 */
  readonly errors: Record<string, number>;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const terminals: SoftTerminal[] = [];
  for (let i = 0; i < options.terminals; i++) {
    const tid = demoTid(i);
    const t = new SoftTerminal({ tid, mid: DEMO_MID, endpoint: { host: options.host, port: options.port }, storage: new MemoryStorage(), keepBatchLog: false, responseTimeoutMs: 10_000, echoIdleMs: 0 });
    t.injectTmk(demoTmk(tid));
    terminals.push(t);
  }
  try {
    await signIn(terminals, options);
    if (!options.reflector) await startFreshBatches(terminals);
    return await drive(terminals, options);
  } finally {
    for (const t of terminals) t.close();
  }
}

export class LoadError extends Error {
  override readonly name = 'LoadError';
}

/** `each` for every terminal, 16 at a time (a real fleet does not sign in or settle all at once either); the first failure stops the run. */
async function sixteenAtATime(terminals: readonly SoftTerminal[], each: (t: SoftTerminal) => Promise<void>): Promise<void> {
  for (let i = 0; i < terminals.length; i += 16) await Promise.all(terminals.slice(i, i + 16).map(each));
}

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function signIn(terminals: readonly SoftTerminal[], options: LoadOptions): Promise<void> {
  if (options.reflector) {
    // A reflector cannot hand out working keys: give each terminal keys of its own making.
    for (const t of terminals) t.injectWorkingKeys({ pik: '0123456789ABCDEFFEDCBA9876543210', mak: '0123456789ABCDEF', tdk: 'FEDCBA98765432100123456789ABCDEF' });
    return;
  }
  await sixteenAtATime(terminals, async (t) => {
    const { rc } = await t.signIn().catch((err: unknown) => {
      throw new LoadError(`terminal ${t.tid} could not sign in at ${options.host}:${options.port} (${reason(err)}): is the host running?`);
    });
    if (rc !== '00') throw new LoadError(`terminal ${t.tid} could not sign in (response code ${rc}): the host must run with --demo --demo-terminals ${terminals.length} or more`);
  });
}

/**
 * A load terminal keeps nothing between runs, so its STANs start again at 1: in the batch an earlier
 * run left open they would be duplicates (94) of that run's sales. Each terminal settles first, as a
 * terminal that lost its batch log must, and sells in a new batch; the settlement is unbalanced (the
 * terminal counts nothing) and moves the earlier run's takings on to the merchant, as any
 * settlement does.
 */
function startFreshBatches(terminals: readonly SoftTerminal[]): Promise<void> {
  return sixteenAtATime(terminals, settleOrRefuse);
}

async function settleOrRefuse(t: SoftTerminal): Promise<void> {
  const settlement = await t.settle().catch((err: unknown) => {
    throw new LoadError(`terminal ${t.tid} could not settle its batch (${reason(err)})`);
  });
  if (settlement.rc !== '00') throw new LoadError(`terminal ${t.tid} could not settle its batch ${settlement.batch} (response code ${settlement.rc || 'none: no answer'})`);
}

async function drive(terminals: readonly SoftTerminal[], options: LoadOptions): Promise<LoadReport> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let approved = 0;
  let requests = 0;
  const warmupMs = options.warmupMs ?? 1_000;
  const started = performance.now();
  const settleAfterStan = options.settleAfterStan ?? 999_999;
  const measureFrom = started + warmupMs;
  const deadline = measureFrom + options.durationMs;
  let measuredApproved = 0;

  const progress = options.onProgress
    ? setInterval(() => {
        const elapsed = Math.max(0, performance.now() - measureFrom);
        options.onProgress!({ elapsedMs: elapsed, approved: measuredApproved, perSecond: elapsed > 0 ? (measuredApproved * 1000) / elapsed : 0, errors: Object.values(errors).reduce((a, b) => a + b, 0) });
      }, 500)
    : undefined;

  try {
    await Promise.all(
      terminals.map(async (t, i) => {
        const card = { entry: 'swipe' as const, ...loadTestCard(i) };
        const repeatedSale = () => t.repeatedSale(card, options.amountFen ?? 1, LOAD_TEST_PIN, { echoed: options.reflector === true });
        let sale = repeatedSale();
        while (performance.now() < deadline) {
          if (!options.reflector && t.stan === settleAfterStan) {
            await settleOrRefuse(t); // the sale's packed frame names the batch: build it again
            sale = repeatedSale();
          }
          const t0 = performance.now();
          let rc: string;
          try {
            rc = await sale();
          } catch (err) {
            rc = `exception:${(err as Error).message.slice(0, 40)}`;
          }
          const t1 = performance.now();
          if (t0 < measureFrom) continue;
          requests++;
          if (rc === '00') {
            approved++;
            measuredApproved++;
            latencies.push(t1 - t0);
          } else errors[rc] = (errors[rc] ?? 0) + 1;
        }
      }),
    );
  } finally {
    if (progress) clearInterval(progress);
  }
  const sorted = Float64Array.from(latencies).sort();
  return {
    terminals: options.terminals,
    durationMs: options.durationMs,
    requests,
    approved,
    perSecond: (approved * 1000) / options.durationMs,
    latencyMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1]! : 0 },
    errors,
  };
}
