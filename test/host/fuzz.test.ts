import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/index.js';
import { mutate, xorshift } from '../support/mutate.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { FuzzLink } from '../support/fuzz-link.js';
import { build, giveSpecKeys, macOk, saleFields } from '../support/spec-frames.js';
import { ENGINES, postgresReachable } from '../support/stores.js';

const FRAMES = 400;
/** response codes the protocol lets the host answer a damaged sale request with (§7, §13) */
const EXPECTED = new Set(['00', '03', '12', '13', '14', '25', '30', '40', '51', '55', '77', '94', '97', 'A0']);

/**
 * Protocol §7 step 1 and the bad-input rule, over the wire: a terminal that sends damaged
 * requests gets a response code the protocol assigns, or its connection closed — never an internal
 * failure (96), never silence — and the host goes on serving every other terminal with its ledger
 * balanced.
 */
describe.each(ENGINES)('host on %s under mutated requests', (engine) => {
  let p: TestPlatform | undefined;
  beforeAll(async () => {
    if (engine === 'postgres' && !(await postgresReachable())) return;
    p = await startTestPlatform(engine);
    await giveSpecKeys(p);
  });
  afterAll(async () => {
    await p?.close();
  });

  it(`answers ${FRAMES} mutated sale frames with a protocol code or a closed connection, and loses nothing`, async () => {
    if (!p) return;
    const port = p.platform.iso.port;
    const rnd = xorshift(0x8583 + engine.length);
    const link = new FuzzLink(port);
    for (let i = 0; i < FRAMES; i++) {
      const stan = String(10_000 + i).padStart(6, '0');
      // the message after the length prefix is damaged; the prefix then tells its true length
      const body = mutate(build(saleFields(stan, 1 + (i % 700))).subarray(2), rnd);
      const frame = Buffer.concat([Buffer.from([body.length >> 8, body.length & 0xff]), body]);
      // no answer is acceptable only as a closed connection, not as a request left hanging
      const answer = await link.send(frame, `frame ${i}`);
      if (!answer) continue;
      const { reply, rc } = answer;
      expect(EXPECTED.has(rc), `frame ${i} (${frame.toString('hex')}) answered ${rc}`).toBe(true);
      // an approval (the damage missed every MACed byte) is one the terminal can verify
      if (rc === '00') expect(macOk(reply)).toBe(true);
    }
    link.close();

    // the damage really reached the host's rules, not only its framing
    expect(link.codes['30'] ?? 0).toBeGreaterThan(0);
    expect(link.codes['A0'] ?? 0).toBeGreaterThan(0);
    expect(link.closed).toBeGreaterThan(0);
    // and every other terminal is still served, with the books balanced
    const t = p.terminal(1);
    await t.signIn();
    expect((await t.sale(p.card('6224242900000113'), 100, '123456')).rc).toBe('00');
    const ledger = await verifyLedger(p.platform.store.db);
    expect(ledger.ok).toBe(true);
  }, 120_000);
});
