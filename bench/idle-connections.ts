/**
 * `npm run bench:idle`: memory of the host holding IDLE_CONNECTIONS (10,000) idle terminal
 * connections open, as RSS of the host process before and after. Target: under 300 MB.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnHost } from '../src/loadgen/index.js';

const count = Number(process.env.IDLE_CONNECTIONS ?? 10_000);
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const host = await spawnHost(['--demo', '--db', `sqlite:${join(mkdtempSync(join(tmpdir(), 'posgate-idle-')), 'idle.db')}`]);
const pid = host.child.pid!;
await new Promise((r) => setTimeout(r, 1_000));
const before = rssMb(pid);
const sockets: Socket[] = [];
for (let i = 0; i < count; i += 500) {
  await Promise.all(
    Array.from({ length: Math.min(500, count - i) }, () => new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: host.isoPort }, () => resolve());
      s.on('error', reject);
      sockets.push(s);
    })),
  );
}
await new Promise((r) => setTimeout(r, 2_000));
const after = rssMb(pid);
const health = await fetch(`http://127.0.0.1:${host.httpPort}/healthz`).then((r) => r.json() as Promise<{ iso_connections: number }>);
console.log(`posgate idle connections: ${health.iso_connections.toLocaleString('en-US')} open`);
console.log(`  host RSS  ${before.toFixed(1)} MB before, ${after.toFixed(1)} MB with them open (${(((after - before) * 1024) / count).toFixed(1)} KB each); target < 300 MB`);
for (const s of sockets) s.destroy();
await host.stop();
