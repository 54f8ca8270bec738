import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CardInput } from '../../src/host/card-input.js';
import { Request } from '../../src/host/request.js';
import { cup, unpackCupFrame } from '../../src/iso8583/index.js';
import { hostLogger } from '../../src/platform/logger.js';
import { build, saleFields } from '../support/spec-frames.js';

const PAN = '6224242900000113';

/** Everything the host logger writes, one parsed line per entry. */
function capture(): { log: ReturnType<typeof hostLogger>; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = hostLogger('debug', sink);
  const text = () => chunks.join('');
  return { log, text, lines: () => text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('what a step that logs card data or a request by mistake writes', () => {
  const raw = build({ ...saleFields('000042', 1234, PAN), 35: `${PAN}D28121011234500000` });
  const req = new Request(unpackCupFrame(cup, raw, true), raw, Date.now());
  const card = new CardInput(PAN, '2812', '101', { expiry: '2812', serviceCode: '101', discretionary: '1234500000' });

  it('card data prints as its masked PAN alone: in JSON, util.inspect and a log line', () => {
    expect(JSON.stringify({ card })).toBe('{"card":{"pan":"622424******0113"}}');
    expect(inspect({ card })).toBe('{ card: CardInput(622424******0113) }');
    const { log, lines, text } = capture();
    log.error({ ctx: { req: { card } } }, 'something went wrong');
    expect(lines()[0]).toMatchObject({ ctx: { req: { card: { pan: '622424******0113' } } } });
    // one level down, the logger's own net is there first
    log.error({ card }, 'something went wrong');
    expect(lines()[1]).toMatchObject({ card: { pan: '[redacted]' } });
    expect(text()).not.toContain(PAN);
    // and the clear PAN is still there for the steps that need it
    expect(card.pan).toBe(PAN);
  });

  it('a request prints as its MTI, STAN, TID and field numbers: no PAN, track or PIN block', () => {
    expect(JSON.parse(JSON.stringify(req))).toEqual({ mti: '0200', stan: '000042', tid: '30000001', fields: [2, 3, 4, 11, 14, 22, 25, 26, 35, 41, 42, 49, 52, 53, 60, 64] });
    expect(inspect(req)).toBe('Request(0200 STAN 000042 TID 30000001)');
    const { log, text } = capture();
    log.warn({ req }, 'odd request');
    const pinBlock = (saleFields('000042')[52] as Buffer).toString('hex');
    for (const secret of [PAN, '1234500000', pinBlock, pinBlock.toUpperCase()]) expect(text()).not.toContain(secret);
  });

  it('the host logger censors values under the keys a secret goes by, at the top and one level down', () => {
    const { log, lines, text } = capture();
    log.info({ pan: PAN, terminal: { tmk: 'CA5D92598DCA48CE8A4C76361A9269E9', tid: '30000001' }, operator: { password: '2580' }, rc: '00' }, 'careless');
    expect(lines()[0]).toMatchObject({ pan: '[redacted]', terminal: { tmk: '[redacted]', tid: '30000001' }, operator: { password: '[redacted]' }, rc: '00', service: 'posgate' });
    for (const secret of [PAN, 'CA5D92598DCA48CE8A4C76361A9269E9', '2580']) expect(text()).not.toContain(secret);
  });
});
