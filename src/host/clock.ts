/**
 * Merchant-local time for fields 12, 13 and the "day" of daily limits, and the settlement date
 * (field 15) that rolls at the cut-over hour in China Standard Time.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface LocalTime {
  /** YYYY-MM-DD */
  readonly day: string;
  readonly mmdd: string;
  readonly hhmmss: string;
  readonly hhmm: string;
  readonly yymm: string;
}

/** The last answer per time zone, reused within the same second (Intl formatting costs a few µs). */
const lastByZone = new Map<string, { second: number; value: LocalTime }>();

export function localTime(ms: number, timeZone: string): LocalTime {
  const second = Math.floor(ms / 1000);
  const last = lastByZone.get(timeZone);
  if (last && last.second === second) return last.value;
  const value = formatLocalTime(ms, timeZone);
  lastByZone.set(timeZone, { second, value });
  return value;
}

function formatLocalTime(ms: number, timeZone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) parts[p.type] = p.value;
  const { year, month, day, hour, minute, second } = parts as Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', string>;
  return { day: `${year}-${month}-${day}`, mmdd: month + day, hhmmss: hour + minute + second, hhmm: hour + minute, yymm: year.slice(2) + month };
}

const CHINA = 'Asia/Shanghai';

/** `YYYY-MM-DD HH:MM:SS` in China Standard Time (UTC+8, no daylight saving): the clock of fields 12/13 and of receipts. */
export function chinaTime(ms: number): string {
  const t = localTime(ms, CHINA);
  return `${t.day} ${t.hhmmss.slice(0, 2)}:${t.hhmmss.slice(2, 4)}:${t.hhmmss.slice(4)}`;
}

export function settlementDate(ms: number, cutoverHour: number): string {
  const here = localTime(ms, CHINA);
  if (Number(here.hhmm.slice(0, 2)) < cutoverHour) return here.mmdd;
  return localTime(ms + 24 * 3600_000, CHINA).mmdd;
}

/** Whether hhmm lies in [start, end): start = end means all day, start > end spans midnight. */
export function inWindow(hhmm: string, start: string, end: string): boolean {
  if (start === end) return true;
  if (start < end) return hhmm >= start && hhmm < end;
  return hhmm >= start || hhmm < end;
}
