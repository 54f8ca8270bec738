/**
 * Retrieval reference numbers (field 37, an12): unique for years across restarts and host
 * processes without a database round trip: year digit ‖ milliseconds into the year (7 base-36
 * characters) ‖ node id (1) ‖ a per-millisecond counter (3 base-36 characters, 46,656 a ms).
 */
export class RrnGenerator {
  private lastMs = 0;
  private counter = 0;
  /** the UTC year of lastMs, its first and next year's first millisecond (worked out once a year) */
  private year = { digit: '0', start: 0, end: 0 };

  constructor(private readonly nodeId: string) {
    if (!/^[0-9A-Z]$/.test(nodeId)) throw new RangeError('the RRN node id is one character 0-9 or A-Z');
  }

  next(now = Date.now()): string {
    let ms = Math.max(now, this.lastMs);
    if (ms === this.lastMs) {
      this.counter++;
      if (this.counter >= 46_656) {
        ms++;
        this.counter = 0;
      }
    } else this.counter = 0;
    this.lastMs = ms;
    if (ms < this.year.start || ms >= this.year.end) {
      const year = new Date(ms).getUTCFullYear();
      this.year = { digit: String(year % 10), start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1) };
    }
    const inYear = (ms - this.year.start).toString(36).toUpperCase().padStart(7, '0');
    return `${this.year.digit}${inYear}${this.nodeId}${this.counter.toString(36).toUpperCase().padStart(3, '0')}`;
  }
}
