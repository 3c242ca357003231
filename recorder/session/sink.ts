/**
 * Where a SessionWriter's bytes go. A new destination (a socket, an XPC pipe) is one new class.
 */
import { accessSync, closeSync, constants, existsSync, fchmodSync, fsyncSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.js';

export interface ByteSink {
  write(bytes: Uint8Array): void;
  close(): void;
}

/** A session file: created 0600 because sessions hold packet payloads and command lines. */
export class FileSink implements ByteSink {
  private readonly fd: number;

  constructor(readonly path: string) {
    FileSink.assertCreatable(path);
    try {
      this.fd = openSync(path, 'w', 0o600);
    } catch (err) {
      throw new InputError(`${path}: cannot create session file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    fchmodSync(this.fd, 0o600); // openSync's mode applies only when it creates the file
  }

  /** Refuses, before anything is recorded, a path no session file can be created at. */
  static assertCreatable(path: string): void {
    let reason: string | null = null;
    if (existsSync(path)) {
      if (!statSync(path).isFile()) reason = 'not a regular file';
    } else {
      const dir = dirname(resolve(path));
      try {
        accessSync(dir, constants.W_OK);
      } catch (err) {
        reason = `${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
      }
    }
    if (reason) throw new InputError(`${path}: cannot create session file (${reason})`);
  }

  write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += this.attempt(() => writeSync(this.fd, bytes, done, bytes.length - done));
  }

  close(): void {
    try {
      this.attempt(() => fsyncSync(this.fd));
    } finally {
      closeSync(this.fd);
    }
  }

  /** A failed write (disk full, a device that takes no writes) is the user's one-line error, naming the file. */
  private attempt<T>(io: () => T): T {
    try {
      return io();
    } catch (err) {
      throw new InputError(`${this.path}: cannot write session file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
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
