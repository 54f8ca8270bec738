import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

/**
 * A terminal's connection to the host: sends frames, delivers every complete frame received to
 * the one waiter. Long-lived by default; `close()` makes it short-lived.
 */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly tls?: ConnectionOptions;
  readonly connectTimeoutMs?: number;
}

export class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter?: { resolve: (frame: Buffer) => void; reject: (err: Error) => void };
  private readonly frames: Buffer[] = [];
  private failure?: Error;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      while (this.buffer.length >= 2) {
        const length = this.buffer.readUInt16BE(0);
        if (this.buffer.length < 2 + length) break;
        const frame = Buffer.from(this.buffer.subarray(0, 2 + length));
        this.buffer = this.buffer.subarray(2 + length);
        if (this.waiter) {
          const w = this.waiter;
          this.waiter = undefined;
          w.resolve(frame);
        } else this.frames.push(frame);
      }
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.reject(this.failure);
      }
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the host')));
  }

  static open(endpoint: Endpoint): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = endpoint.tls ? tlsConnect({ host: endpoint.host, port: endpoint.port, ...endpoint.tls }) : netConnect({ host: endpoint.host, port: endpoint.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${endpoint.host}:${endpoint.port} within ${endpoint.connectTimeoutMs ?? 10_000} ms`));
      }, endpoint.connectTimeoutMs ?? 10_000);
      socket.once(endpoint.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve(new Connection(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get alive(): boolean {
    return !this.socket.destroyed && this.failure === undefined;
  }

  send(frame: Buffer): void {
    this.socket.write(frame);
  }

  /** The next frame received, or an error after `timeoutMs`. */
  receive(timeoutMs: number): Promise<Buffer> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new TimeoutError(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}
