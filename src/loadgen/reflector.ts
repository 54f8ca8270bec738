import { createServer } from 'node:net';

/**
 * The null host of the host benchmark: it answers every frame at once with the frame itself, its
 * TPDU addresses swapped and its MTI made a response. No parsing, no keys, no storage — so the
 * figure it reaches is what this machine's network and load generator can carry, the yardstick
 * the real host's figures are divided by.
 */
export function startReflector(port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    let buffer: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        const frame = Buffer.from(buffer.subarray(0, 2 + buffer.readUInt16BE(0)));
        buffer = buffer.subarray(frame.length);
        const dest = frame.readUInt16BE(3);
        frame.writeUInt16BE(frame.readUInt16BE(5), 3);
        frame.writeUInt16BE(dest, 5);
        frame[14] = frame[14]! + 0x10; // 0200 → 0210 in BCD
        socket.write(frame);
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({ port: typeof address === 'object' && address ? address.port : port, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

// `node reflector.js PORT` runs it as its own process and prints its port.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!) && process.argv[1].endsWith('reflector.js')) {
  void startReflector(Number(process.argv[2] ?? 0)).then(({ port }) => process.stdout.write(`reflector on ${port}\n`));
}
