/**
 * The key of a financial request, (terminal, batch, STAN), as one string: the duplicate check looks
 * transactions up by it, and requests under one key are serialised (`deps.serialize`). A reversal
 * waits behind its original's key, so both sides must build it here, the one way.
 */
export function requestKey(terminalId: string, batch: number | string | undefined, stan: string | undefined): string {
  return `${terminalId}|${batch}|${stan}`;
}

/** The parts of a key made by `requestKey`; `undefined` when its batch is not a number (that request has no key to look up ahead). */
export function parseRequestKey(key: string): { terminalId: string; batch: number; stan: string } | undefined {
  const [terminalId, batch, stan] = key.split('|') as [string, string, string];
  return /^[0-9]{1,9}$/.test(batch) ? { terminalId, batch: Number(batch), stan } : undefined;
}
