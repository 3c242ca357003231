/**
 * SessionReader: a session file (or bytes) in, events out, and a report of what was intact.
 *
 * It never needs the trailer and never trusts a length before its checksum: a frame header is
 * checked (magic + CRC) before its length is used, and a payload is read only if that many bytes
 * remain in the file. A file cut short (a recorder killed mid-write) loads its intact prefix.
 * Corruption stops the read at its offset, or with `salvage` the reader scans for the next frame
 * whose header and payload both check and goes on from there.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from '../errors.js';
import { checkInputFile, unreadable } from '../input-file.js';
import { compressionOf, looksLikeCapture } from '../import/formats.js';
import { EventShapeError, fromWire } from './codec.js';
import { unpackr } from './msgpack.js';
import type { SessionEvent, SessionHeader, SessionTrailer } from './events.js';
import {
  FILE_SIGNATURE,
  FRAME_HEADER_SIZE,
  FrameType,
  decodeFrameHeader,
  payloadIsIntact,
  type FrameHeader,
} from './frame.js';
import { decodeHeader, decodeTrailer } from './header.js';
import { scanChunk, type EventVisitor } from './scan.js';

export interface ReadOptions {
  /** On a corrupt frame, skip ahead to the next good one instead of stopping. */
  salvage?: boolean;
}

export interface ReadProblem {
  offset: number;
  message: string;
}

/** What the read found: filled in as events are consumed, final once iteration ends. */
export interface ReadReport {
  file: string;
  bytes: number;
  /** Bytes of the file consumed so far: for progress bars. */
  bytesRead: number;
  chunksGood: number;
  chunksBad: number;
  events: number;
  /** Events of kinds this version does not know, by kind number: skipped. */
  unknownKinds: Record<number, number>;
  /** Events of known kinds whose fields did not fit the spec: skipped, each listed in problems. */
  badEvents: number;
  /** Corruption, malformed events, missing frames: each with its byte offset. */
  problems: ReadProblem[];
  /** Offset where the file ends inside a frame, or null when every frame is whole. */
  truncatedAt: number | null;
  /** Offset of the corruption the read stopped at (without salvage), or null. */
  stoppedAt: number | null;
  trailer: SessionTrailer | null;
}

/** Random-access bytes: a file or a buffer. */
interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes at `offset` (fewer at the end). */
  read(offset: number, length: number): Buffer;
  close(): void;
}

class FileSource implements ByteSource {
  readonly size: number;
  constructor(private readonly fd: number) {
    this.size = fstatSync(fd).size;
  }
  read(offset: number, length: number): Buffer {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const got = readSync(this.fd, buf, done, n - done, offset + done);
      if (got === 0) break;
      done += got;
    }
    return done === n ? buf : buf.subarray(0, done);
  }
  close(): void {
    closeSync(this.fd);
  }
}

class BufferSource implements ByteSource {
  readonly size: number;
  constructor(private readonly bytes: Buffer) {
    this.size = bytes.length;
  }
  read(offset: number, length: number): Buffer {
    return this.bytes.subarray(offset, Math.min(this.size, offset + length));
  }
  close(): void {}
}

const SCAN_WINDOW = 1 << 20;

/** What a file that is no session is instead, where its first bytes say: a hint after the refusal. */
function notASession(head: Buffer): string {
  const compression = compressionOf(head);
  if (compression) return `; it is ${compression.name}-compressed, and netprov reads sessions uncompressed: decompress it first (${compression.command})`;
  if (looksLikeCapture(head)) return '; it is a capture: netprov import makes a session of it, and analyze takes it as it is';
  return '';
}

export class SessionReader {
  readonly header: SessionHeader;
  readonly report: ReadReport;
  private readonly firstFrameAt: number;

  static open(path: string, options: ReadOptions = {}): SessionReader {
    checkInputFile(path);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw unreadable(path, 'open', err);
    }
    return new SessionReader(new FileSource(fd), path, options);
  }

  static fromBytes(bytes: Buffer, name: string, options: ReadOptions = {}): SessionReader {
    return new SessionReader(new BufferSource(bytes), name, options);
  }

  private constructor(
    private readonly source: ByteSource,
    readonly file: string,
    private readonly options: ReadOptions,
  ) {
    this.report = {
      file,
      bytes: source.size,
      bytesRead: 0,
      chunksGood: 0,
      chunksBad: 0,
      events: 0,
      unknownKinds: {},
      badEvents: 0,
      problems: [],
      truncatedAt: null,
      stoppedAt: null,
      trailer: null,
    };
    try {
      const signature = source.read(0, FILE_SIGNATURE.length);
      if (!signature.equals(FILE_SIGNATURE)) throw new InputError(`${file}: not a netprov session (no session signature at offset 0${notASession(source.read(0, 4096))})`);
      const at = FILE_SIGNATURE.length;
      const frame = this.readFrame(at);
      if (typeof frame === 'string' || frame.header.type !== FrameType.header) {
        throw new InputError(`${file}: session header at offset ${at} is unreadable (${typeof frame === 'string' ? frame : 'not a header frame'})`);
      }
      try {
        this.header = decodeHeader(frame.payload, file);
      } catch (err) {
        if (err instanceof InputError) throw err;
        throw new InputError(`${file}: session header at offset ${at} is not valid msgpack`);
      }
      this.firstFrameAt = at + FRAME_HEADER_SIZE + frame.payload.length;
    } catch (err) {
      source.close();
      throw err;
    }
  }

  /** Every intact event in file order. */
  *events(): Generator<SessionEvent> {
    for (const chunk of this.chunks()) yield* chunk;
  }

  /** The events of each intact chunk, one array per chunk. Closes the file when done. */
  *chunks(): Generator<SessionEvent[]> {
    for (const { at, header, payload } of this.eventFrames()) {
      const events = this.decodeChunk(at, header, payload);
      if (events) yield events;
    }
  }

  /**
   * Every intact event in file order, packets without an object each (scan.ts). For the
   * analyzer's hot path; same report as chunks().
   */
  scan(visitor: EventVisitor): void {
    for (const { at, header, payload } of this.eventFrames()) {
      const result = scanChunk(payload, visitor);
      const found = result.events + result.badEvents.length + Object.values(result.unknownKinds).reduce((a, b) => a + b, 0);
      if (result.brokenAt >= 0) {
        this.report.chunksBad++;
        this.problem(at, `chunk checksum is right but its msgpack breaks after event ${found}; the rest of the chunk is lost`);
      } else this.report.chunksGood++;
      this.countChunk(at, header, found, result.brokenAt >= 0);
      for (const [code, n] of Object.entries(result.unknownKinds)) this.report.unknownKinds[Number(code)] = (this.report.unknownKinds[Number(code)] ?? 0) + n;
      for (const bad of result.badEvents) {
        this.report.badEvents++;
        this.problem(at, `event ${bad.index} of the chunk: ${bad.message}`);
      }
      this.report.events += result.events;
    }
  }

  /** Intact event frames in file order, past corruption when salvaging. Closes the file when done. */
  private *eventFrames(): Generator<{ at: number; header: FrameHeader; payload: Buffer }> {
    try {
      let at = this.firstFrameAt;
      let expectedSequence = 1;
      while (at < this.source.size) {
        const frame = this.readFrame(at);
        if (frame === 'truncated') {
          this.report.truncatedAt = at;
          return;
        }
        if (typeof frame === 'string') {
          this.report.chunksBad++;
          this.problem(at, frame);
          if (!this.options.salvage) {
            this.report.stoppedAt = at;
            return;
          }
          const next = this.findNextFrame(at + 1);
          if (next === null) return;
          this.problem(at, `skipped ${next - at} bytes to the next intact frame at offset ${next}`);
          at = next;
          continue;
        }
        const { header, payload } = frame;
        const next = at + FRAME_HEADER_SIZE + payload.length;
        if (header.sequence < expectedSequence) {
          // A frame whose number has been read already: a duplicated or reordered chunk. Its
          // events would be loaded twice or out of place, so it is skipped and counted as bad.
          this.report.chunksBad++;
          this.problem(at, `frame ${header.sequence} comes after frame ${expectedSequence - 1} (a duplicated or reordered chunk); skipped`);
          at = next;
          this.report.bytesRead = at;
          continue;
        }
        if (header.sequence > expectedSequence) this.problem(at, `frames ${expectedSequence}..${header.sequence - 1} are missing`);
        expectedSequence = header.sequence + 1;
        if (header.type === FrameType.events) yield { at, header, payload };
        else if (header.type === FrameType.trailer) this.report.trailer = decodeTrailer(payload);
        else this.problem(at, `frame of type ${header.type} skipped (not defined in format 1.x)`);
        at = next;
        this.report.bytesRead = at;
      }
      this.report.bytesRead = this.source.size;
    } finally {
      this.source.close();
    }
  }

  private decodeChunk(at: number, header: FrameHeader, payload: Buffer): SessionEvent[] | undefined {
    // Events before a break in the msgpack are kept, as the analyzer's scan keeps them: every
    // reader agrees on every chunk.
    const wires: unknown[] = [];
    let broken = false;
    try {
      unpackr.unpackMultiple(payload, (wire: unknown) => {
        wires.push(wire);
      });
    } catch {
      broken = true;
    }
    if (broken) {
      this.report.chunksBad++;
      this.problem(at, `chunk checksum is right but its msgpack breaks after event ${wires.length}; the rest of the chunk is lost`);
    } else this.report.chunksGood++;
    this.countChunk(at, header, wires.length, broken);
    const events: SessionEvent[] = [];
    for (let i = 0; i < wires.length; i++) {
      try {
        const event = fromWire(wires[i]);
        if (event) events.push(event);
        else {
          const code = (wires[i] as unknown[])[0] as number;
          this.report.unknownKinds[code] = (this.report.unknownKinds[code] ?? 0) + 1;
        }
      } catch (err) {
        if (!(err instanceof EventShapeError)) throw err;
        this.report.badEvents++;
        this.problem(at, `event ${i} of the chunk: ${err.message}`);
      }
    }
    this.report.events += events.length;
    return events;
  }

  private countChunk(at: number, header: FrameHeader, found: number, broken: boolean): void {
    if (!broken && found !== header.eventCount) this.problem(at, `chunk declares ${header.eventCount} events but holds ${found}`);
  }

  private readFrame(at: number): { header: FrameHeader; payload: Buffer } | 'truncated' | string {
    const head = this.source.read(at, FRAME_HEADER_SIZE);
    if (head.length < FRAME_HEADER_SIZE) return 'truncated';
    const header = decodeFrameHeader(head);
    if (typeof header === 'string') return header;
    // The header checksum held, so the length is what the writer wrote: a payload that runs past
    // the end of the file means the file was cut short, not corrupted.
    if (header.payloadLength > this.source.size - at - FRAME_HEADER_SIZE) return 'truncated';
    const payload = this.source.read(at + FRAME_HEADER_SIZE, header.payloadLength);
    return payloadIsIntact(header, payload) ? { header, payload } : 'payload checksum mismatch';
  }

  /** Offset of the next frame at or after `from` whose header and payload check, or null. */
  private findNextFrame(from: number): number | null {
    const magic = Buffer.from('NPCK', 'latin1');
    for (let windowAt = from; windowAt < this.source.size; windowAt += SCAN_WINDOW) {
      const window = this.source.read(windowAt, SCAN_WINDOW + magic.length - 1);
      for (let i = window.indexOf(magic); i !== -1; i = window.indexOf(magic, i + 1)) {
        if (i >= SCAN_WINDOW) break; // seen again in the next window
        const frame = this.readFrame(windowAt + i);
        if (typeof frame !== 'string') return windowAt + i;
      }
    }
    return null;
  }

  private problem(offset: number, message: string): void {
    this.report.problems.push({ offset, message });
  }
}
