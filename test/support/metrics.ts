/** Waits until the host's metrics count at least `n` approved sales. */
export async function approvedSales(httpPort: number, n: number): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 100) {
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    if (Number(/posgate_iso_requests_total\{kind="sale",rc="00"\} (\d+)/.exec(metrics)?.[1] ?? 0) >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fewer than ${n} approved sales after 30 s`);
}
