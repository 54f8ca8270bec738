/**
 * Preloaded into a host by `npm run bench:sql` (NODE_OPTIONS=--import): times every SQLite
 * statement the process runs, by its SQL text. The first SIGUSR2 starts the count afresh, the
 * second writes it, as JSON, to POSGATE_SQL_TIMES_FILE (SIGUSR1 is Node's debugger signal). Only
 * statement texts are kept, never their parameters.
 */
import { writeFileSync } from 'node:fs';
import { Sqlite } from '../src/store/index.js';

interface Times {
  calls: number;
  ns: number;
}

const out = process.env.POSGATE_SQL_TIMES_FILE;
let times = new Map<string, Times>();

type StatementMethod = (this: { source: string }, ...args: unknown[]) => unknown;
const probe = new Sqlite(':memory:');
const prototype = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, StatementMethod>;
probe.close();
for (const name of ['run', 'get', 'all', 'iterate']) {
  const original = prototype[name];
  if (typeof original !== 'function') continue;
  prototype[name] = function timed(this: { source: string }, ...args: unknown[]): unknown {
    const started = process.hrtime.bigint();
    try {
      return original.apply(this, args);
    } finally {
      const ns = Number(process.hrtime.bigint() - started);
      let t = times.get(this.source);
      if (!t) times.set(this.source, (t = { calls: 0, ns: 0 }));
      t.calls++;
      t.ns += ns;
    }
  };
}

let counting = false;
process.on('SIGUSR2', () => {
  if (!counting) times = new Map();
  else if (out) writeFileSync(out, JSON.stringify([...times].map(([sql, t]) => ({ sql, ...t }))));
  counting = !counting;
});
