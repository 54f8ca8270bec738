import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { PIN_LENGTH_MAX, PIN_LENGTH_MIN } from '../crypto/index.js';
import { UsageError, type Io } from './output.js';

/** Line input that works both at a keyboard (PINs not echoed) and from a pipe (tests, scripts). */
export class Prompter {
  private muted = false;
  private readonly lines: AsyncIterator<string>;
  private readonly rl;
  constructor(private readonly io: Io) {
    const output = new Writable({
      write: (chunk, _enc, done) => {
        if (!this.muted) process.stdout.write(chunk);
        done();
      },
    });
    this.rl = createInterface({ input: process.stdin, output, terminal: Boolean(process.stdin.isTTY) });
    this.lines = this.rl[Symbol.asyncIterator]();
  }
  async ask(prompt: string): Promise<string> {
    process.stdout.write(prompt);
    const next = await this.lines.next();
    if (next.done) throw new EndOfInput();
    if (!process.stdin.isTTY) process.stdout.write('\n');
    return next.value.trim();
  }
  async secret(prompt: string): Promise<string> {
    process.stdout.write(prompt);
    this.muted = true;
    try {
      const next = await this.lines.next();
      if (next.done) throw new EndOfInput();
      return next.value.trim();
    } finally {
      this.muted = false;
      process.stdout.write('\n');
    }
  }
  /**
   * The cardholder's PIN as a PIN pad takes it: 4 to 12 digits, asked again when it is not (three
   * times, then the transaction is cancelled before anything is sent).
   */
  async pin(): Promise<string> {
    const range = `${PIN_LENGTH_MIN} to ${PIN_LENGTH_MAX}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const pin = await this.secret('请持卡人输入密码 Cardholder PIN: ');
      if (/^[0-9]+$/.test(pin) && pin.length >= PIN_LENGTH_MIN && pin.length <= PIN_LENGTH_MAX) return pin;
      this.say(`密码为${PIN_LENGTH_MIN}至${PIN_LENGTH_MAX}位数字 a PIN is ${range} digits`);
    }
    throw new UsageError('invalid_pin', `no PIN of ${range} digits: the transaction is cancelled`);
  }
  close(): void {
    this.rl.close();
  }
  say(text: string): void {
    this.io.out(text);
  }
}

/** The input ended (a pipe ran dry, or Ctrl-D at the keyboard) while something was asked. */
export class EndOfInput extends Error {}
