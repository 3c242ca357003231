/**
 * Where a SessionWriter's bytes go. A new destination (a socket, an XPC pipe) is one new class.
 */
import { closeSync, fchmodSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { InputError } from '../errors.js';

export interface ByteSink {
  write(bytes: Uint8Array): void;
  close(): void;
}

/** A session file: created 0600 because sessions hold packet payloads and command lines. */
export class FileSink implements ByteSink {
  private readonly fd: number;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w', 0o600);
    } catch (err) {
      throw new InputError(`${path}: cannot create session file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    fchmodSync(this.fd, 0o600); // openSync's mode applies only when it creates the file
  }

  write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
  }

  close(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/** Collects bytes in memory: for tests and for building sessions to stream elsewhere. */
export class MemorySink implements ByteSink {
  private readonly parts: Uint8Array[] = [];
  closed = false;

  write(bytes: Uint8Array): void {
    this.parts.push(Uint8Array.from(bytes));
  }

  close(): void {
    this.closed = true;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}
