import { expect } from 'vitest';
import { cup, unpackCupFrame, type IsoMessage } from '../../src/iso8583/index.js';
import { RawLink } from './raw-link.js';

/**
 * A fuzzing terminal's link: sends frames one at a time, opening a new connection whenever the
 * host closed the last one, and tallies what came back. A frame must be answered or its connection
 * closed: a request left hanging fails the test.
 */
export class FuzzLink {
  private link: RawLink | undefined;
  /** response code → how many answers carried it */
  readonly codes: Record<string, number> = {};
  /** frames answered by closing the connection */
  closed = 0;

  constructor(private readonly port: number) {}

  /** The answer to `frame` (its response code tallied), or null when the host closed the connection instead. */
  async send(frame: Buffer, what: string): Promise<{ reply: Buffer; message: IsoMessage; rc: string } | null> {
    if (!this.link || this.link.closed) this.link = await RawLink.open(this.port);
    const reply = await this.link.exchange(frame);
    if (reply === null) {
      expect(this.link.closed, `${what} (${frame.toString('hex')}) got neither an answer nor a close`).toBe(true);
      this.closed++;
      return null;
    }
    const { message } = unpackCupFrame(cup, reply, true);
    const rc = String(message.get(39));
    this.codes[rc] = (this.codes[rc] ?? 0) + 1;
    return { reply, message, rc };
  }

  close(): void {
    this.link?.close();
  }
}
