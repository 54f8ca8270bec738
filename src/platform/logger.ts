import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Keys under which a card number, track, PIN, password, code or key could end up in a log line by
 * mistake, at the top or one level down: their values are replaced before the line is written. The
 * host logs none of them (a test scans a day of logs); this is the net under that rule. Card data
 * and requests print masked by themselves (host/card-input.ts, host/request.ts).
 */
const SECRET_KEYS = ['pan', 'track2', 'track', 'pin', 'pinBlock', 'password', 'newPassword', 'otp', 'activationCode', 'key', 'tmk', 'pik', 'mak', 'tdk'];
const REDACTED_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`]);

/** The host's structured log: JSON lines, tagged with the service, secrets censored. */
export function hostLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'posgate' }, redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
