/**
 * A forward-only window over a file, a gzip stream or a buffer, for the capture readers.
 *
 * Written here rather than taken from pcap-parser: that library reads µs pcap only (no ns, no
 * pcapng) and was measured at ~250 MiB/s against ~1 GiB/s for this Buffer-based approach.
 * Refills alternate between two buffers: packet bytes handed out as subarrays of the window
 * stay valid, without a copy, until the window after next — readers hand every packet on before
 * asking for the next. Measured: a fresh 4 MiB buffer per refill made the kernel fault in every
 * page of it, reading a page-cached pcap at 1.0 GB/s against 11.8 GB/s into reused buffers.
 * Memory is two windows whatever the input's size: a gzip
 * input is inflated as it is read (gzip.ts), so neither a 10 GB capture nor a zero bomb is ever
 * held whole. The first window is small: opening a capture reads its head and first events
 * only, and a merge of a thousand rotated captures opens each of them before it reads one.
 */
import { closeSync, readSync } from 'node:fs';
import { gzipStream } from './gzip.js';

const WINDOW = 4 << 20;
/** The first refill's size: enough for any reader to tell its format and read its first events. */
const FIRST_WINDOW = 64 << 10;
const NOTHING = Buffer.alloc(0);
/**
 * Windows of closed cursors, for the next cursor's refills: rotated captures read one after
 * another reuse two windows rather than fault in two fresh ones each (299 captures of 5 MB:
 * 0.3 s). A cursor closes once its last event has been handed on, so its windows hold nothing
 * anyone still reads.
 */
const returned: Buffer[] = [];

/** Where a cursor's bytes come from, in order. */
export interface ByteStream {
  /** Fills `into` from `at` with up to `want` bytes; 0 only at the end. */
  read(into: Buffer, at: number, want: number): number;
  /** Why the stream ended before its data did (a corrupt or cut gzip stream), once it has ended. */
  readonly damage: string | null;
  /** Bytes of the file read so far. */
  readonly fileBytesRead: number;
  close(): void;
}

class FileStream implements ByteStream {
  readonly damage = null;
  private position = 0;
  constructor(private readonly fd: number) {}
  get fileBytesRead(): number {
    return this.position;
  }
  read(into: Buffer, at: number, want: number): number {
    const got = readSync(this.fd, into, at, want, this.position);
    this.position += got;
    return got;
  }
  close(): void {
    closeSync(this.fd);
  }
}

export class Cursor {
  /** The current window; valid bytes are [pos, end). */
  buf: Buffer;
  pos = 0;
  private end: number;
  /** Offset in the (inflated) input of buf[0]. */
  private base = 0;
  /** The window before this one: the next refill's buffer. */
  private spare: Buffer = NOTHING;
  private exhausted: boolean;
  private refilled = false;
  private closed = false;

  private constructor(
    private readonly stream: ByteStream | null,
    bytes: Buffer | null,
    /** The file is gzip, and the window holds what it inflates to. */
    readonly gzipped = false,
  ) {
    this.buf = bytes ?? Buffer.alloc(0);
    this.end = this.buf.length;
    this.exhausted = stream === null;
  }

  /** The file open at `fd`, which the cursor then owns. */
  static ofFile(fd: number): Cursor {
    return new Cursor(new FileStream(fd), null);
  }

  /** A gzip file open at `fd`, which the cursor then owns, read as what it decompresses to. */
  static ofGzipFile(fd: number): Cursor {
    return new Cursor(gzipStream(fd), null, true);
  }

  static ofBytes(bytes: Buffer): Cursor {
    return new Cursor(null, bytes);
  }

  /** Offset of `pos` in the input (after decompression): what error messages report. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Bytes in the window from `pos`. */
  get available(): number {
    return this.end - this.pos;
  }

  /** Bytes of the underlying file read so far (compressed, for gzip). */
  get bytesRead(): number {
    return this.stream?.fileBytesRead ?? this.offset;
  }

  /** Why the input stopped before its end (a corrupt gzip stream), or null. */
  get damage(): string | null {
    return this.stream?.damage ?? null;
  }

  /** Makes `n` bytes available at `pos`; false when fewer than `n` remain in the input. */
  ensure(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    if (this.exhausted) return false;
    const carried = this.end - this.pos;
    const size = Math.max(this.refilled ? WINDOW : FIRST_WINDOW, n);
    this.refilled = true;
    const next = this.spare.length >= size ? this.spare : size === WINDOW && returned.length ? returned.pop()! : Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.pos, this.end);
    let got = carried;
    while (got < next.length) {
      const read = this.stream!.read(next, got, next.length - got);
      if (read === 0) {
        this.exhausted = true;
        break;
      }
      got += read;
    }
    this.base += this.pos;
    this.spare = this.buf;
    this.buf = next;
    this.pos = 0;
    this.end = got;
    return this.end >= n;
  }

  /** True when bytes remain past `pos` (a record cut short at the end leaves some). */
  hasMore(): boolean {
    return this.ensure(1);
  }

  /** Moves past `n` bytes, which need not be in the window. */
  skip(n: number): void {
    while (n > this.end - this.pos) {
      n -= this.end - this.pos;
      this.pos = this.end;
      if (!this.ensure(1)) return;
    }
    this.pos += n;
  }

  /** Closes the input and lets its windows go (an input a merge is done with); again, nothing. */
  close(): void {
    if (!this.stream || this.closed) return;
    this.closed = true;
    this.exhausted = true;
    for (const window of [this.buf, this.spare]) if (window.length === WINDOW && returned.length < 2) returned.push(window);
    this.buf = this.spare = NOTHING;
    this.pos = this.end = 0;
    this.stream.close();
  }
}
