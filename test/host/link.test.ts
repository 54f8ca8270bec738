import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { RawLink } from '../support/raw-link.js';

describe('the terminal link: timeouts and short connections', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform('sqlite', { config: { connectionIdleMsMax: 400, frameCompleteMsMax: 250 } });
  });
  afterAll(async () => p.close());

  it('closes a connection whose frame does not complete in time', async () => {
    const link = await RawLink.open(p.platform.iso.port);
    link.write(Buffer.from([0x00, 0x40, 0x60, 0x00])); // announces 64 bytes, sends 2
    const started = Date.now();
    expect(await link.next(3_000)).toBeNull();
    expect(link.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('closes an idle connection', async () => {
    const link = await RawLink.open(p.platform.iso.port);
    expect(await link.next(3_000)).toBeNull();
    expect(link.closed).toBe(true);
  });

  it('serves terminals on short connections (connect, one request, close) as well as long ones', async () => {
    const t = p.terminal(0, { longLived: false });
    expect((await t.signIn()).rc).toBe('00');
    expect((await t.sale(p.card('6224242900000113'), 321, '123456')).rc).toBe('00');
    expect(await t.echo()).toBe('00');
  });
});

describe('a terminal on a long-lived connection', () => {
  it('sends an echo test when idle (0820/301), which the host answers', async () => {
    const p = await startTestPlatform('sqlite');
    try {
      const t = p.terminal(0, { echoIdleMs: 150 });
      await t.signIn();
      await new Promise((r) => setTimeout(r, 600));
      const metrics = await (await fetch(`http://127.0.0.1:${p.platform.httpPort}/metrics`)).text();
      const echoes = Number(/posgate_iso_requests_total\{kind="echo",rc="00"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      expect(echoes).toBeGreaterThanOrEqual(2);
    } finally {
      await p.close();
    }
  });
});
