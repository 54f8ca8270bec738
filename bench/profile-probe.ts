/**
 * Preloaded into a host by `npm run bench:profile` (NODE_OPTIONS=--import): V8's sampling profiler
 * on the host's main thread, started by the first SIGUSR2 and stopped by the second, which writes
 * the profile (a .cpuprofile, as Chrome DevTools reads it) to POSGATE_PROFILE_FILE (SIGUSR1 is
 * Node's debugger signal).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.POSGATE_PROFILE_FILE;
const session = new Session();
session.connect();
const post = (method: string, params: object = {}) =>
  new Promise<unknown>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));

let profiling = false;
process.on('SIGUSR2', () => {
  profiling = !profiling;
  if (profiling) {
    void post('Profiler.enable')
      .then(() => post('Profiler.setSamplingInterval', { interval: 100 }))
      .then(() => post('Profiler.start'));
    return;
  }
  void post('Profiler.stop').then((result) => {
    if (out) writeFileSync(out, JSON.stringify((result as { profile: unknown }).profile));
  });
});
