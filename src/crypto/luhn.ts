/** Luhn (ISO/IEC 7812-1 annex B) check over a string of digits; false for anything else. */
export function luhnValid(digits: string): boolean {
  if (!/^[0-9]{2,}$/.test(digits)) return false;
  return luhnSum(digits) % 10 === 0;
}

/** The check digit to append to `payload` so that the whole passes Luhn. */
export function luhnCheckDigit(payload: string): string {
  if (!/^[0-9]+$/.test(payload)) throw new RangeError('Luhn payload must be digits');
  return String((10 - (luhnSum(`${payload}0`) % 10)) % 10);
}

function luhnSum(digits: string): number {
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum;
}

/** A PAN as it may be shown: the first 6 and last 4 digits, the rest as `*` (PCI DSS 3.3). */
export function maskPan(pan: string): string {
  return `${pan.slice(0, 6)}${'*'.repeat(Math.max(0, pan.length - 10))}${pan.slice(-4)}`;
}
