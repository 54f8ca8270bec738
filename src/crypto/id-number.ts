/**
 * Chinese resident identity card numbers (GB 11643-1999): 17 digits ‖ check character, where the
 * check is ISO 7064 MOD 11-2 over the 17 digits (weights 2^(17-i) mod 11), 'X' standing for 10.
 * Digits 7–14 are the birth date YYYYMMDD, digit 17 is odd for men and even for women.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

export type IdNumberProblem = 'format' | 'birth_date' | 'check_digit';

export interface IdNumberResult {
  readonly valid: boolean;
  readonly problem?: IdNumberProblem;
  readonly expectedCheck?: string;
  readonly birthDate?: string;
  readonly sex?: 'male' | 'female';
  readonly regionCode?: string;
}

export function idNumberCheckCharacter(first17: string): string {
  if (!/^[0-9]{17}$/.test(first17)) throw new RangeError('an ID number body is 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

function validDate(yyyymmdd: string, today: Date): boolean {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return false;
  return y >= 1900 && date.getTime() <= today.getTime();
}

export function checkIdNumber(input: string, today: Date = new Date()): IdNumberResult {
  const id = input.trim().toUpperCase();
  if (!/^[0-9]{17}[0-9X]$/.test(id)) return { valid: false, problem: 'format' };
  const birth = id.slice(6, 14);
  const details = {
    birthDate: `${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6, 8)}`,
    sex: (Number(id[16]) % 2 === 1 ? 'male' : 'female') as 'male' | 'female',
    regionCode: id.slice(0, 6),
  };
  if (!validDate(birth, today)) return { valid: false, problem: 'birth_date', ...details };
  const expected = idNumberCheckCharacter(id.slice(0, 17));
  if (expected !== id[17]) return { valid: false, problem: 'check_digit', expectedCheck: expected, ...details };
  return { valid: true, ...details };
}
