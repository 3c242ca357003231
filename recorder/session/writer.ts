/**
 * SessionWriter: events in, framed chunks out. It knows nothing of where bytes go (a ByteSink,
 * or a FrameSink that frames them elsewhere) nor of where events come from (a sensor, an
 * importer, a replay).
 *
 * Memory is bounded by one chunk: events are encoded as they arrive into a chunk buffer, which is
 * framed and handed on when it reaches `chunkBytes` or when it has waited `flushMs`. A recorder
 * killed at any moment therefore loses at most the chunk being filled.
 */
import { checkEvent, toWire } from './codec.js';
import { packr } from './msgpack.js';
import type { KindName, SessionEvent, SessionHeader } from './events.js';
import { FrameType, type FrameTypeCode } from './frame.js';
import { InlineFrames, type FrameSink } from './frame-sink.js';
import { encodeHeader, encodeTrailer } from './header.js';
import { PACKET_WIRE_OVERHEAD, writePacketWire } from './packet-wire.js';
import type { ByteSink } from './sink.js';

export interface WriterOptions {
  /** Flush when the chunk being filled reaches this many bytes. */
  chunkBytes?: number;
  /** Flush a non-empty chunk after this long, so a live session on disk is never far behind. 0 = never. */
  flushMs?: number;
}

/**
 * Writes packet events' wire bytes (packet-wire.ts) into `chunk` from `at`, each one only if it
 * ends by `limit`, and stops after the one that reaches `full`: a chunk comes out as `append`
 * would have made it. Returns the end of what it wrote, how many packets, and their latest time.
 */
export type PacketFill = (chunk: Buffer, at: number, full: number, limit: number) => PacketsWritten;
export interface PacketsWritten {
  end: number;
  packets: number;
  /** The greatest `t` among them. */
  maxT: number;
}

export const DEFAULT_CHUNK_BYTES = 1 << 20;
/** Room past `chunkBytes` in a chunk buffer: the event that crosses the limit still fits, mostly. */
const CHUNK_SLACK = 64 * 1024;
/** The buffer a chunk of `chunkBytes` is built in. */
export const chunkRoom = (chunkBytes: number): number => chunkBytes + CHUNK_SLACK;

export class SessionWriter {
  private readonly chunkBytes: number;
  /** What a chunk buffer holds (chunkRoom): an event that would take it past this goes in the next chunk. */
  private readonly room: number;
  private readonly frames: FrameSink;
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
    output: ByteSink | FrameSink,
    readonly header: SessionHeader,
    options: WriterOptions = {},
  ) {
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.room = chunkRoom(this.chunkBytes);
    this.frames = 'buffer' in output ? output : new InlineFrames(output);
    this.chunk = this.frames.buffer(this.room);
    this.writeAlone(FrameType.header, encodeHeader(header));
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
    const inPlace = event.kind === 'packet' && this.used + PACKET_WIRE_OVERHEAD + event.data.length <= this.room ? writePacketWire(event, this.chunk, this.used) : -1;
    if (inPlace >= 0) this.used = inPlace;
    else this.appendBytes(packr.pack(toWire(event)));
    this.eventsInChunk++;
    this.counts[event.kind] = (this.counts[event.kind] ?? 0) + 1;
    if (event.kind === 'loss') this.losses += event.count;
    if (event.t > this.endT) this.endT = event.t;
    if (this.used >= this.chunkBytes) this.flush();
  }

  /**
   * Lets `fill` write packets straight into the chunk, chunk after chunk, until it writes none or
   * stops short of a full chunk (at what it leaves to `append`). Returns how many it wrote.
   */
  appendPackets(fill: PacketFill): number {
    if (this.closed) throw new Error('SessionWriter: append after close');
    let total = 0;
    for (;;) {
      const { end, packets, maxT } = fill(this.chunk, this.used, this.chunkBytes, this.room);
      if (packets === 0) return total;
      total += packets;
      this.used = end;
      this.eventsInChunk += packets;
      this.counts.packet = (this.counts.packet ?? 0) + packets;
      if (maxT > this.endT) this.endT = maxT;
      if (this.used < this.chunkBytes) return total;
      this.flush();
    }
  }

  /** Frames and hands on the chunk being filled, if any. */
  flush(): void {
    if (this.eventsInChunk === 0) return;
    this.handOn(FrameType.events, this.eventsInChunk);
  }

  /** Flushes, writes the trailer and closes the output. */
  close(): void {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.flush();
    const trailer = { endT: this.endT, counts: this.counts, losses: this.losses, chunks: this.sequence - 1 };
    this.writeAlone(FrameType.trailer, encodeTrailer(trailer));
    this.closed = true;
    this.frames.close();
  }

  /** Stops without a trailer, for an output being thrown away: what is not written yet is dropped. */
  abandon(): void {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.closed = true;
    this.frames.abandon();
  }

  private appendBytes(bytes: Buffer): void {
    if (this.used + bytes.length > this.room) {
      this.flush();
      if (bytes.length > this.chunk.length) this.chunk = this.frames.buffer(bytes.length);
    }
    bytes.copy(this.chunk, this.used);
    this.used += bytes.length;
  }

  /** The header and the trailer: each a frame of its own. */
  private writeAlone(type: FrameTypeCode, payload: Buffer): void {
    this.appendBytes(payload);
    this.handOn(type, 0);
  }

  private handOn(type: FrameTypeCode, eventCount: number): void {
    this.frames.write(type, this.sequence++, eventCount, this.used);
    this.used = 0;
    this.eventsInChunk = 0;
    if (type !== FrameType.trailer) this.chunk = this.frames.buffer(this.room);
  }
}
