import { connect, type Socket } from 'node:net';

/** A bare TCP client for sending exact bytes to the host and reading exact frames back. */
export class RawLink {
  private buffer = Buffer.alloc(0);
  private waiters: ((f: Buffer | null) => void)[] = [];
  private frames: Buffer[] = [];
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 2 && this.buffer.length >= 2 + this.buffer.readUInt16BE(0)) {
        const frame = this.buffer.subarray(0, 2 + this.buffer.readUInt16BE(0));
        this.buffer = this.buffer.subarray(frame.length);
        const w = this.waiters.shift();
        if (w) w(Buffer.from(frame));
        else this.frames.push(Buffer.from(frame));
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawLink> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(new RawLink(s)));
      s.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame, or null when the host closed the connection (or nothing came within `ms`). */
  next(ms = 5_000): Promise<Buffer | null> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), ms);
      this.waiters.push((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
    });
  }

  async exchange(bytes: Buffer): Promise<Buffer | null> {
    this.write(bytes);
    return this.next();
  }

  close(): void {
    this.socket.destroy();
  }
}
