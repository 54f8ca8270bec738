/**
 * Preloaded into a host by `npm run bench:profile` (NODE_OPTIONS=--import): V8's sampling profiler
 * on the host's main thread, started by SIGUSR2 and stopped by SIGUSR1, which writes the profile
 * (a .cpuprofile, as Chrome DevTools reads it) to POSGATE_PROFILE_FILE.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.POSGATE_PROFILE_FILE;
const session = new Session();
session.connect();
const post = (method: string, params: object = {}) =>
  new Promise<unknown>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));

process.on('SIGUSR2', () => {
  void post('Profiler.enable')
    .then(() => post('Profiler.setSamplingInterval', { interval: 100 }))
    .then(() => post('Profiler.start'));
});
process.on('SIGUSR1', () => {
  void post('Profiler.stop').then((result) => {
    if (out) writeFileSync(out, JSON.stringify((result as { profile: unknown }).profile));
  });
});
