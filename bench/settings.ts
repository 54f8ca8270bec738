/**
 * What the benchmarks read from the environment: BENCH_TERMINALS and BENCH_SECONDS, each a whole
 * number within the load generator's limits (those of `posgate bench`). Anything else ends the
 * benchmark with a one-line message and exit code 2, before a host is started.
 */
function whole(name: string, fallback: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    console.error(`posgate benchmark: ${name} must be a whole number from 1 to ${max}, not ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

/** Terminals (default 64) and measured seconds (default `defaultSeconds`). */
export function benchSettings(defaultSeconds: number): { readonly terminals: number; readonly seconds: number } {
  return { terminals: whole('BENCH_TERMINALS', 64, 20_000), seconds: whole('BENCH_SECONDS', defaultSeconds, 3_600) };
}
