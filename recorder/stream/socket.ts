/**
 * Session streams over Unix sockets: the replay serves one (as a sensor would), the recorder
 * connects and receives. Also the byte sinks for stdout and sockets, with backpressure.
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { InputError } from '../errors.js';
import type { ReplaySink } from '../replay/replay.js';

/** A sink over a writable stream: write() queues, drained() waits for the stream to catch up. */
export class StreamSink implements ReplaySink {
  private pending: Promise<void> | null = null;
  constructor(private readonly stream: Writable, private readonly endOnClose = true) {}

  write(bytes: Uint8Array): void {
    // A stream may queue what it cannot write now: a copy, since the caller reuses `bytes`.
    if (!this.stream.write(Buffer.from(bytes)) && !this.pending) {
      this.pending = new Promise((resolve) => this.stream.once('drain', () => {
        this.pending = null;
        resolve();
      }));
    }
  }

  async drained(): Promise<void> {
    if (this.pending) await this.pending;
  }

  close(): void {
    if (this.endOnClose) this.stream.end();
  }
}

/** Listens on `path` and resolves with the first connection (one recorder per replay). */
export async function serveOnce(path: string): Promise<{ socket: Socket; close: () => void }> {
  if (existsSync(path)) {
    if (!lstatSync(path).isSocket()) throw new InputError(`${path}: exists and is not a socket; refusing to replace it`);
    unlinkSync(path);
  }
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new InputError(`${path}: cannot listen (${(err as NodeJS.ErrnoException).code})`)));
    server.listen(path, resolve);
  });
  const socket = await new Promise<Socket>((resolve) => server.once('connection', resolve));
  server.close();
  return {
    socket,
    close: () => {
      if (existsSync(path)) unlinkSync(path);
    },
  };
}

/** Connects to a serving socket, retrying while it does not exist yet (up to `waitMs`). */
export async function connect(path: string, waitMs = 10_000): Promise<Socket> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = createConnection(path, () => resolve(socket));
        socket.once('error', reject);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() > deadline) {
        throw new InputError(`${path}: cannot connect (${code ?? String(err)})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
