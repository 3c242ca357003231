/**
 * SessionWriter: events in, framed chunks out. It knows nothing of where bytes go (a ByteSink)
 * nor of where events come from (a sensor, an importer, a replay).
 *
 * Memory is bounded by one chunk: events are encoded as they arrive into a chunk buffer, which is
 * framed and handed to the sink when it reaches `chunkBytes` or when it has waited `flushMs`. A
 * recorder killed at any moment therefore loses at most the chunk being filled.
 */
import { checkEvent, toWire } from './codec.js';
import { packr } from './msgpack.js';
import type { KindName, SessionEvent, SessionHeader } from './events.js';
import { FILE_SIGNATURE, FrameType, encodeFrameHeader } from './frame.js';
import { encodeHeader, encodeTrailer } from './header.js';
import { PACKET_WIRE_OVERHEAD, writePacketWire } from './packet-wire.js';
import type { ByteSink } from './sink.js';

export interface WriterOptions {
  /** Flush when the chunk being filled reaches this many bytes. */
  chunkBytes?: number;
  /** Flush a non-empty chunk after this long, so a live session on disk is never far behind. 0 = never. */
  flushMs?: number;
}

export class SessionWriter {
  private readonly chunkBytes: number;
  private chunk: Buffer;
  private used = 0;
  private eventsInChunk = 0;
  private sequence = 0;
  private readonly counts: Partial<Record<KindName, number>> = {};
  private losses = 0;
  private endT = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly sink: ByteSink,
    readonly header: SessionHeader,
    options: WriterOptions = {},
  ) {
    this.chunkBytes = options.chunkBytes ?? 1 << 20;
    this.chunk = Buffer.allocUnsafe(this.chunkBytes + 64 * 1024);
    sink.write(FILE_SIGNATURE);
    this.writeFrame(FrameType.header, 0, encodeHeader(header));
    if (options.flushMs) {
      this.timer = setInterval(() => this.flush(), options.flushMs);
      this.timer.unref();
    }
  }

  /** Appends one event; throws EventShapeError (writing nothing) for one a reader would reject. */
  append(event: SessionEvent): void {
    if (this.closed) throw new Error('SessionWriter: append after close');
    checkEvent(event);
    // A packet is written in place when it fits whatever its numbers: then msgpackr's bytes
    // would have fitted too, and the chunks come out the same.
    const inPlace = event.kind === 'packet' && this.used + PACKET_WIRE_OVERHEAD + event.data.length <= this.chunk.length ? writePacketWire(event, this.chunk, this.used) : -1;
    if (inPlace >= 0) this.used = inPlace;
    else this.appendBytes(packr.pack(toWire(event)));
    this.eventsInChunk++;
    this.counts[event.kind] = (this.counts[event.kind] ?? 0) + 1;
    if (event.kind === 'loss') this.losses += event.count;
    if (event.t > this.endT) this.endT = event.t;
    if (this.used >= this.chunkBytes) this.flush();
  }

  private appendBytes(bytes: Buffer): void {
    if (this.used + bytes.length > this.chunk.length) {
      this.flush();
      if (bytes.length > this.chunk.length) this.chunk = Buffer.allocUnsafe(bytes.length);
    }
    bytes.copy(this.chunk, this.used);
    this.used += bytes.length;
  }

  /** Frames and writes the chunk being filled, if any. */
  flush(): void {
    if (this.eventsInChunk === 0) return;
    this.writeFrame(FrameType.events, this.eventsInChunk, this.chunk.subarray(0, this.used));
    this.used = 0;
    this.eventsInChunk = 0;
  }

  /** Flushes, writes the trailer and closes the sink. */
  close(): void {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.flush();
    const trailer = { endT: this.endT, counts: this.counts, losses: this.losses, chunks: this.sequence - 1 };
    this.writeFrame(FrameType.trailer, 0, encodeTrailer(trailer));
    this.closed = true;
    this.sink.close();
  }

  private writeFrame(type: (typeof FrameType)[keyof typeof FrameType], eventCount: number, payload: Uint8Array): void {
    this.sink.write(encodeFrameHeader(type, this.sequence++, eventCount, payload));
    this.sink.write(payload);
  }
}
