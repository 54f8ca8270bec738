/**
 * A small benchmark harness: run `fn` in rounds of `batch` calls after a warm-up, report the median
 * rate. Figures are printed, never asserted: these machines are shared and noisy.
 */
export interface Rate {
  readonly name: string;
  readonly perSecond: number;
  readonly nsPerOp: number;
}

export function measure(name: string, fn: () => unknown, options: { batch?: number; rounds?: number; warmup?: number } = {}): Rate {
  const batch = options.batch ?? 20_000;
  const rounds = options.rounds ?? 7;
  for (let i = 0; i < (options.warmup ?? batch); i++) fn();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    const ns = Number(process.hrtime.bigint() - start);
    rates.push((batch * 1e9) / ns);
  }
  rates.sort((a, b) => a - b);
  const perSecond = rates[Math.floor(rates.length / 2)]!;
  return { name, perSecond, nsPerOp: 1e9 / perSecond };
}

/**
 * Measures several contenders in interleaved rounds (A, B, C, A, B, C, …) so that a burst of load
 * from elsewhere on a shared machine hits all of them alike; each gets its median.
 */
export function measureInterleaved(cases: readonly { name: string; fn: () => unknown; batch?: number }[], rounds = 9): Rate[] {
  for (const c of cases) for (let i = 0; i < (c.batch ?? 20_000); i++) c.fn();
  const rates: number[][] = cases.map(() => []);
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, k) => {
      const batch = c.batch ?? 20_000;
      const start = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) c.fn();
      rates[k]!.push((batch * 1e9) / Number(process.hrtime.bigint() - start));
    });
  }
  return cases.map((c, k) => {
    const sorted = rates[k]!.sort((a, b) => a - b);
    const perSecond = sorted[Math.floor(sorted.length / 2)]!;
    return { name: c.name, perSecond, nsPerOp: 1e9 / perSecond };
  });
}

export async function measureAsync(name: string, fn: () => Promise<unknown>, options: { batch?: number; rounds?: number } = {}): Promise<Rate> {
  const batch = options.batch ?? 20_000;
  const rounds = options.rounds ?? 7;
  for (let i = 0; i < batch; i++) await fn();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await fn();
    rates.push((batch * 1e9) / Number(process.hrtime.bigint() - start));
  }
  rates.sort((a, b) => a - b);
  const perSecond = rates[Math.floor(rates.length / 2)]!;
  return { name, perSecond, nsPerOp: 1e9 / perSecond };
}

export function formatRate(rate: Rate): string {
  return `${rate.name.padEnd(58)} ${Math.round(rate.perSecond).toLocaleString('en-US').padStart(12)} /s ${rate.nsPerOp.toFixed(0).padStart(8)} ns/op`;
}
