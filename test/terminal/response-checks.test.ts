import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { tdesEcb, tdesKcv } from '../../src/crypto/index.js';
import { cup, IsoMessage, packCupFrame, unpackCupFrame, type FieldValue } from '../../src/iso8583/index.js';
import { MemoryStorage, SoftTerminal, TerminalError } from '../../src/terminal/index.js';

/**
 * §5.5: a response whose MTI, 11, 41 or 42 is not the request's is someone else's; the terminal
 * discards it and keeps waiting for its own. A scripted host answers each request with `answers`.
 */
function scriptedHost(answers: (request: IsoMessage) => IsoMessage[]): Promise<{ server: Server; port: number }> {
  const server = createServer((socket: Socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const raw = pending.subarray(0, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(raw.length);
        const request = unpackCupFrame(cup, raw, true);
        for (const message of answers(request.message)) {
          socket.write(packCupFrame(cup, { tpdu: { id: '60', destination: '0000', source: request.tpdu.destination }, header: { ...request.header, processingRequest: '0' }, message }, true));
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

function answer(request: IsoMessage, rc: string, override: Record<number, FieldValue> = {}): IsoMessage {
  const mti = `${request.mti.slice(0, 2)}${String(Number(request.mti.slice(2)) + 10).padStart(2, '0')}`;
  return new IsoMessage(mti, { 11: String(request.get(11)), 12: '101500', 13: '1122', 39: rc, 41: String(request.get(41)), 42: String(request.get(42)), 60: String(request.get(60)), ...override });
}

describe('software terminal: whose response it takes (§5.5)', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  const terminalOn = (port: number) =>
    new SoftTerminal({ tid: '30000001', mid: '898310054110001', endpoint: { host: '127.0.0.1', port }, storage: new MemoryStorage(), responseTimeoutMs: 1_000, echoIdleMs: 0 });

  it('passes over answers for another merchant, terminal or STAN, and takes its own', async () => {
    const host = await scriptedHost((request) => [
      answer(request, '96', { 42: '898310054110002' }),
      answer(request, '96', { 41: '30000002' }),
      answer(request, '96', { 11: '999999' }),
      answer(request, '00'),
    ]);
    server = host.server;
    expect(await terminalOn(host.port).echo()).toBe('00');
  });

  it('with no answer of its own, has none', async () => {
    const host = await scriptedHost((request) => [answer(request, '00', { 42: '898310054110002' })]);
    server = host.server;
    expect(await terminalOn(host.port).echo()).toBe('');
  });

  /** A sign-in answer (§6.2): PIK, MAK and TDK under the TMK, each with its check value, or a wrong one for `spoil`. */
  function signInAnswer(request: IsoMessage, tmk: Buffer, spoil?: 'pik' | 'mak' | 'tdk'): IsoMessage {
    const parts = (['pik', 'mak', 'tdk'] as const).flatMap((name) => {
      const key = randomBytes(16);
      const kcv = tdesKcv(key, 4);
      return [tdesEcb(tmk).encrypt(key), name === spoil ? Buffer.from(kcv.map((b) => b ^ 0x01)) : kcv];
    });
    return answer(request, '00', { 62: Buffer.concat(parts) });
  }

  it('signs in with working keys whose check values hold, and refuses keys whose check values do not (§6.2)', async () => {
    const tmk = randomBytes(16);
    const spoiled: ('pik' | 'mak' | 'tdk' | undefined)[] = ['pik', 'mak', 'tdk', undefined];
    const host = await scriptedHost((request) => [signInAnswer(request, tmk, spoiled.shift())]);
    server = host.server;
    const t = terminalOn(host.port);
    t.injectTmk(tmk.toString('hex'));
    // three answers in a row with a wrong check value: the terminal gives up and stays signed out
    await expect(t.signIn()).rejects.toThrow(TerminalError);
    expect(t.signedIn).toBe(false);
    // the fourth answer's keys check: signed in
    expect((await t.signIn()).rc).toBe('00');
    expect(t.signedIn).toBe(true);
  });
});
