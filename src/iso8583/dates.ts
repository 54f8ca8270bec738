/**
 * Dates in the cup dialect carry no year: an original's date (field 61.3, the MMDD of field 13 of its
 * response) is the most recent date with that MMDD that is not after today (§4.5). `today` is
 * YYYY-MM-DD in the acceptor's local time; the answer is YYYY-MM-DD.
 */
export function resolveMmdd(mmdd: string, today: string): string {
  const year = Number(today.slice(0, 4));
  const candidate = `${year}-${mmdd.slice(0, 2)}-${mmdd.slice(2)}`;
  return candidate <= today ? candidate : `${year - 1}-${mmdd.slice(0, 2)}-${mmdd.slice(2)}`;
}
