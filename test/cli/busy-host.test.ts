import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnHost } from '../../src/loadgen/index.js';
import { approvedSales } from '../support/metrics.js';
import { posgateBinaryAsync } from './run-cli.js';

describe('posgate commands beside a running host (SQLite)', () => {
  it('commands that write — a backup, key rotation, a new merchant or terminal, one-time codes and passwords — work beside a host busy selling, and the host answers every sale', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'posgate-busy-'));
    const db = join(dir, 'posgate.db');
    const host = await spawnHost(['--demo', '--demo-terminals', '5', '--db', db]);
    try {
      const selling = posgateBinaryAsync(['bench', '--terminals', '4', '--duration', '5', '--json', '--target', `127.0.0.1:${host.isoPort}`]);
      await approvedSales(host.httpPort, 50);
      // each reads, then writes (its audit entry) while the host commits a group every few milliseconds
      const commands = [
        ['backup', '--out', join(dir, 'b1.db')],
        ['terminals', 'rotate-keys', '--tid', '30000005'],
        ['merchants', 'add', '--mid', '898310058120003', '--name', 'Busy 1'],
        ['terminals', 'rotate-keys', '--tid', '30000005'],
        ['merchants', 'add', '--mid', '898310058120004', '--name', 'Busy 2'],
        ['terminals', 'rotate-keys', '--tid', '30000005'],
        ['merchants', 'add', '--mid', '898310058120005', '--name', 'Busy 3'],
        ['terminals', 'rotate-keys', '--tid', '30000005'],
        ['merchants', 'add', '--mid', '898310058120006', '--name', 'Busy 4'],
        // these hash a one-time password or code (argon2id) before they take the write lock
        ['terminals', 'add', '--mid', '898310054110001', '--serial', 'BUSY-0001'],
        ['terminals', 'activation-code', '--tid', '30000005'],
        ['terminals', 'reset-operator', '--tid', '30000005', '--operator', '02'],
        ['backup', '--out', join(dir, 'b2.db')],
      ];
      for (const args of commands) {
        const r = await posgateBinaryAsync([...args, '--db', db]);
        expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
      }
      const sold = (await selling).json<{ approved: number; errors: Record<string, number> }>();
      expect(sold.errors).toEqual({});
      expect(sold.approved).toBeGreaterThan(50);
    } finally {
      await host.stop();
    }
  });
});
