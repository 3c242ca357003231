/**
 * Where a SessionWriter's bytes go. A new destination (a socket, an XPC pipe) is one new class.
 */
import { closeSync, constants, fsyncSync, openSync, rmSync } from 'node:fs';
import { InputError } from '../errors.js';
import { writeAll } from '../write-all.js';

export interface ByteSink {
  /** `bytes` are the caller's again once this returns (the writer refills its chunk): a sink that keeps them copies them. */
  write(bytes: Uint8Array): void;
  close(): void;
}

/**
 * A new session file: created 0600 because sessions hold packet payloads and command lines, and
 * only if nothing is at the path (O_EXCL), never through a link (O_NOFOLLOW). What may be
 * replaced, and where, is decided before (output-file.ts). A session made from inputs that stay
 * (import, --save, a replay to a file) is closed into the page cache, as other tools write their
 * outputs: waiting for the disk cost an import of 300 MB 0.2 s here, more on slower disks.
 */
export class FileSink implements ByteSink {
  readonly fd: number;

  constructor(
    readonly path: string,
    /** The name to give in messages (the output's own, when `path` is its temporary name). */
    readonly name = path,
    /** Remove the file at `path` first (what --force allowed, already checked to be no link and no input). */
    replace = false,
  ) {
    try {
      if (replace) rmSync(path, { force: true });
      this.fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      throw new InputError(`${name}: cannot create session file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }

  write(bytes: Uint8Array): void {
    this.attempt(() => writeAll(this.fd, bytes));
  }

  close(): void {
    closeSync(this.fd);
  }

  /** A failed write (disk full, a device that takes no writes) is the user's one-line error, naming the file. */
  protected attempt<T>(io: () => T): T {
    try {
      return io();
    } catch (err) {
      throw new InputError(`${this.name}: cannot write session file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
}

/** A recording: the only copy of what it saw, so closing it waits until the disk has every byte. */
export class DurableFileSink extends FileSink {
  override close(): void {
    try {
      this.attempt(() => fsyncSync(this.fd));
    } finally {
      super.close();
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
