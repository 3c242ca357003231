/**
 * Where a SessionWriter's frames go. The writer builds each frame's payload in a buffer the frame
 * sink lends it, then hands the buffer back to be framed (frame.ts: the frame header and its two
 * CRCs) and written. Two kinds: InlineFrames frames on the caller's thread into any ByteSink;
 * FrameThread (frame-thread.ts) frames and writes a file on a thread of its own.
 */
import { FILE_SIGNATURE, encodeFrameHeader, type FrameTypeCode } from './frame.js';
import type { ByteSink } from './sink.js';

export interface FrameSink {
  /** A buffer of at least `bytes` for the next frame's payload; the one lent before is the sink's again. */
  buffer(bytes: number): Buffer;
  /** Frames the first `length` bytes of the last buffer() lent and writes them. */
  write(type: FrameTypeCode, sequence: number, eventCount: number, length: number): void;
  /** Returns once every frame is written, and closes the output. */
  close(): void;
  /** Stops writing (frames not yet written are dropped) and closes the output: it is being thrown away. */
  abandon(): void;
}

/**
 * Frames on the caller's thread, into one buffer reused for every frame: a new buffer for each
 * 1 MiB frame made the kernel fault in its pages, a third of an import's time.
 */
export class InlineFrames implements FrameSink {
  private payload = Buffer.alloc(0);

  constructor(private readonly sink: ByteSink) {
    sink.write(FILE_SIGNATURE);
  }

  buffer(bytes: number): Buffer {
    if (this.payload.length < bytes) this.payload = Buffer.allocUnsafe(bytes);
    return this.payload;
  }

  write(type: FrameTypeCode, sequence: number, eventCount: number, length: number): void {
    const payload = this.payload.subarray(0, length);
    this.sink.write(encodeFrameHeader(type, sequence, eventCount, payload));
    this.sink.write(payload);
  }

  close(): void {
    this.sink.close();
  }

  abandon(): void {
    this.sink.close();
  }
}
