import { execFileSync } from 'node:child_process';
import { createECDH } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildActivationRequest } from '../../src/crypto/index.js';
import { cup, IsoMessage, packCupFrame, unpackCupFrame } from '../../src/iso8583/index.js';
import { startPlatform, type Platform } from '../../src/platform/platform.js';
import { MemoryStorage, SoftTerminal } from '../../src/terminal/index.js';
import { demoInfo } from '../../src/demo/seed.js';
import { posgateBinaryAsync } from '../cli/run-cli.js';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** `posgate terminal …` as a cashier runs it, with `input` typed at its menus; what it printed. */
async function cliTerminal(args: string[], input: string): Promise<string> {
  const r = await posgateBinaryAsync(['terminal', ...args], input);
  return r.stdout + r.stderr;
}

describe('the TLS listener and the activation TLS rule', () => {
  let platform: Platform;
  let cert: Buffer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'posgate-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
    writeFileSync(join(dir, 'lmk.key'), randomBytes(32).toString('hex'), { mode: 0o600 });
    platform = await startPlatform({ db: `sqlite:${join(dir, 'p.db')}`, isoPort: 0, httpPort: 0, hostname: '127.0.0.1', demo: true, lmkFile: join(dir, 'lmk.key'), tls: { port: 0, cert, key: readFileSync(join(dir, 'key.pem')) } });
  });
  afterAll(async () => platform.close());

  it('carries the same frames over TLS, the terminal checking the host certificate', async () => {
    const info = await demoInfo(platform.store);
    const t = new SoftTerminal({ tid: info.terminals[0]!.tid, mid: info.terminals[0]!.mid, storage: new MemoryStorage(), endpoint: { host: '127.0.0.1', port: platform.isoTls!.port, tls: { ca: cert, servername: 'localhost' } } });
    t.injectTmk(info.terminals[0]!.tmk);
    expect((await t.signIn()).rc).toBe('00');
    expect((await t.sale({ entry: 'swipe', pan: '6224242900000113', expiry: '2812' }, 888, '123456')).rc).toBe('00');
    t.close();
    const untrusting = new SoftTerminal({ tid: info.terminals[1]!.tid, mid: info.terminals[1]!.mid, storage: new MemoryStorage(), endpoint: { host: '127.0.0.1', port: platform.isoTls!.port, tls: { servername: 'localhost' } } });
    untrusting.injectTmk(info.terminals[1]!.tmk);
    await expect(untrusting.signIn()).rejects.toThrow(/no answer/);
  });

  it('posgate terminal --tls signs in and sells over TLS, trusting the certificate given with --ca, and no other', async () => {
    const args = ['--demo', '2', '--host', '127.0.0.1', '--port', String(platform.isoTls!.port), '--tls', '--servername', 'localhost'];
    const trusting = await cliTerminal([...args, '--ca', join(dir, 'cert.pem'), '--state', join(dir, 'cli-1.json')], '1\n\n2580\n2\n12.00\n1\ns\n123456\n0\n');
    expect(trusting).toContain('签到成功 signed in');
    expect(trusting).toContain('交易成功 APPROVED');
    // the system's CAs do not know this self-signed certificate: no connection, no sign-in
    const untrusting = await cliTerminal([...args, '--state', join(dir, 'cli-2.json')], '1\n\n2580\n0\n');
    expect(untrusting).not.toContain('签到成功');
    expect(untrusting).toContain('no answer to the sign-in (cannot connect: self-signed certificate'); // Node 24 adds a hint after it
    // --ca without --tls is a mistake, said before anything is sent
    expect(await cliTerminal(['--demo', '1', '--ca', join(dir, 'cert.pem')], '0\n')).toContain('--ca and --servername go with --tls');
  });

  it('refuses activation over plain TCP from a non-loopback address (63)', async () => {
    const ecdh = createECDH('prime256v1');
    const m = new IsoMessage('0800', { 11: '000001', 41: '30000002', 42: '898310054110001', 60: '00000000901', 62: buildActivationRequest('PGSIM-0002', '123456789012', ecdh.generateKeys()) });
    const frame = packCupFrame(cup, { tpdu: { id: '60', destination: '0003', source: '0000' }, header: { applicationType: '60', specVersion: '31', terminalStatus: '0', processingRequest: '0', subVersion: '010200' }, message: m }, true);
    const far = await platform.host.handle(frame, { remote: '203.0.113.9:40000', tls: false, loopback: false });
    expect('response' in far && unpackCupFrame(cup, far.response, true).message.get(39)).toBe('63');
    const overTls = await platform.host.handle(frame, { remote: '203.0.113.9:40000', tls: true, loopback: false });
    expect('response' in overTls && unpackCupFrame(cup, overTls.response, true).message.get(39)).toBe('55'); // past the TLS rule: the code is wrong
  });
});
