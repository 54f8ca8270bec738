import pg from 'pg';
import { vi } from 'vitest';
import { Sqlite, type Engine } from '../../src/store/index.js';

/**
 * Makes the next COMMIT on `engine` take effect and then fail as if its acknowledgement were lost
 * (a dropped connection, an I/O error after the write): the case where the database did commit
 * but the host cannot know it. Restored by vi.restoreAllMocks().
 */
export function loseNextCommitAcknowledgement(engine: Engine): { readonly fired: () => boolean } {
  let fired = false;
  const lost = () => Object.assign(new Error('Connection terminated unexpectedly'), { code: engine === 'postgres' ? 'ECONNRESET' : 'SQLITE_IOERR' });
  if (engine === 'sqlite') {
    const probe = new Sqlite(':memory:');
    const proto = Object.getPrototypeOf(probe.prepare('select 1')) as { run(...args: unknown[]): unknown };
    probe.close();
    const run = proto.run;
    vi.spyOn(proto, 'run').mockImplementation(function (this: { source: string }, ...args: unknown[]) {
      const result = run.apply(this, args);
      if (!fired && this.source.trim().toLowerCase() === 'commit') {
        fired = true;
        throw lost();
      }
      return result;
    });
  } else {
    const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
    vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
      const result = query.apply(this, args);
      if (!fired && typeof args[0] === 'string' && args[0].trim().toLowerCase() === 'commit') {
        fired = true;
        return (result as Promise<unknown>).then(() => {
          throw lost();
        });
      }
      return result;
    } as never);
  }
  return { fired: () => fired };
}
