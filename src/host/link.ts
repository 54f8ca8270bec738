import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { AcquiringHost } from './host.js';
import { FRAME_LENGTH_MIN } from '../iso8583/index.js';

/**
 * The terminal link (protocol §1.4): TCP (and optionally TLS) carrying LEN-prefixed frames. Per
 * connection, frames are processed one at a time in arrival order and answered in that order.
 * Bounded everywhere: LEN 21–4096, 30 s to complete a frame, 180 s idle, at most 4 frames
 * waiting, a maximum number of connections, and reading pauses while a reply cannot be written.
 */
export interface IsoListener {
  readonly port: number;
  /**
   * Stops taking connections and frames, lets every frame already received be answered (for at most
   * `graceMs`, default 5 s), then closes every connection: a restart leaves no terminal without the
   * answer to a request the host had taken in.
   */
  close(graceMs?: number): Promise<void>;
  connections(): number;
}

const CLOSE_GRACE_MS = 5_000;

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export async function listenIso(host: AcquiringHost, options: { port: number; hostname?: string; tls?: TlsOptions }): Promise<IsoListener> {
  const { config, log, metrics } = host.deps;
  const sockets = new Set<Socket>();
  // frames taken in and not yet answered, over every connection; `drained` hears when none are left
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;
  const frameDone = () => {
    inFlight--;
    if (inFlight === 0) drained?.();
  };
  const onConnection = (socket: Socket, tls: boolean) => {
    sockets.add(socket);
    metrics.connections.inc();
    socket.setNoDelay(true);
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const link = { remote, tls, loopback: LOOPBACK.test(socket.remoteAddress ?? '') };
    let buffer: Buffer = Buffer.alloc(0);
    const queue: Buffer[] = [];
    let busy = false;
    /** whether queue[0] is in the host's hands right now */
    let handling = false;
    let closed = false;
    let frameTimer: NodeJS.Timeout | undefined;
    // One idle timer per connection, pushed back (refresh) on every chunk rather than replaced.
    const idleTimer: NodeJS.Timeout = setTimeout(() => close('idle'), config.connectionIdleMsMax);
    idleTimer.unref();

    const close = (reason: string) => {
      if (closed) return;
      closed = true;
      if (reason !== 'peer_closed') log.info({ remote, reason }, 'closing terminal connection');
      if (reason !== 'peer_closed' && reason !== 'idle') metrics.framesRejected.inc({ reason });
      clearTimeout(frameTimer);
      clearTimeout(idleTimer);
      socket.destroy();
    };
    const pump = async () => {
      if (busy) return;
      busy = true;
      while (queue.length > 0 && !closed) {
        const frame = queue[0]!;
        handling = true;
        const outcome = await host.handle(frame, link).catch((err: unknown) => {
          log.error({ err: String(err) }, 'frame handler failed');
          return { close: 'handler_failure' } as const;
        });
        handling = false;
        queue.shift();
        frameDone();
        if ('close' in outcome) {
          close(outcome.close);
          break;
        }
        if (closed || socket.destroyed) break; // the outcome stands; the terminal reverses or retransmits
        if (!socket.write(outcome.response)) {
          socket.pause();
          await new Promise<void>((resolve) => socket.once('drain', () => resolve()).once('close', () => resolve()));
          if (!closed) socket.resume();
        }
      }
      busy = false;
    };

    socket.on('data', (chunk: Buffer) => {
      if (draining) return; // the listener is closing: nothing new is taken in
      idleTimer.refresh();
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      while (buffer.length >= 2 && !closed) {
        const length = buffer.readUInt16BE(0);
        if (length < FRAME_LENGTH_MIN || length > config.frameBytesMax) return close(`frame_length_${length < FRAME_LENGTH_MIN ? 'short' : 'long'}`);
        if (buffer.length < 2 + length) break;
        const frame = Buffer.from(buffer.subarray(0, 2 + length));
        buffer = buffer.subarray(2 + length);
        clearTimeout(frameTimer);
        frameTimer = undefined;
        if (queue.length >= config.connectionQueuedMax) return close('too_many_queued_frames');
        queue.push(frame);
        inFlight++;
        void pump();
      }
      if (buffer.length > 0 && frameTimer === undefined) {
        frameTimer = setTimeout(() => close('frame_incomplete'), config.frameCompleteMsMax);
        frameTimer.unref();
      }
    });
    socket.on('error', (err) => log.debug({ remote, err: err.message }, 'terminal connection error'));
    socket.on('close', () => {
      // frames that will not be processed now (the pump stops at `closed`) no longer count; the
      // one in the host's hands counts until its outcome is in
      const kept = handling ? 1 : 0;
      for (let i = kept; i < queue.length; i++) frameDone();
      queue.length = Math.min(queue.length, kept);
      closed = true;
      clearTimeout(frameTimer);
      clearTimeout(idleTimer);
      sockets.delete(socket);
      metrics.connections.dec();
    });
  };

  const server: Server = options.tls ? createTlsServer(options.tls, (s) => onConnection(s, true)) : createServer((s) => onConnection(s, false));
  server.maxConnections = config.connectionsMax;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.hostname ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    connections: () => sockets.size,
    close: async (graceMs = CLOSE_GRACE_MS) => {
      draining = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.pause();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const s of sockets) s.destroy();
      await stopped;
    },
  };
}
