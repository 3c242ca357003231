/**
 * Captures as one session, streamed: every input opened by its content, their events merged in
 * time order (merge.ts) and handed on one by one — to a SessionWriter for `import`, to the
 * analyzer for `analyze capture.pcap`, or to both for `analyze --save`. Nothing is held but a
 * window per input, so a capture of any size streams through in constant memory.
 *
 * The session id is derived from the inputs' bytes, so the same captures give the same session
 * (and `import` the same file) on every run, and loading a capture twice into one database is
 * refused as loading a session twice is.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from '../errors.js';
import { checkInputFiles, unreadable } from '../input-file.js';
import { checkEvent, EventShapeError, fromWire, toWire } from '../session/codec.js';
import type { SessionEvent, SessionHeader } from '../session/events.js';
import type { ReadReport } from '../session/reader.js';
import type { EventVisitor } from '../session/scan.js';
import type { SessionWriter } from '../session/writer.js';
import { newHeader } from '../session/new-header.js';
import { projectVersion } from '../project.js';
import { Cursor } from './cursor.js';
import { openEslogger } from './eslogger.js';
import { isEslogger, isGzip, isPcap, isPcapng, notACapture } from './formats.js';
import { UndissectedLinkTypes } from './linktype.js';
import { earliest, Merge, startNsOf } from './merge.js';
import { openPcap } from './pcap.js';
import { openPcapng } from './pcapng.js';
import { savedAndVisited } from './pcap-to-session.js';
import { importLoss, InterfaceNumbers, type ImportNotes, type ImportSource, type PcapRecordsReader, type Timed } from './source.js';

export interface CaptureOptions {
  host?: string;
  /** netprov's version, for the header's sensor field (default: this one's). */
  version?: string;
}

const HEAD = 64 * 1024;

/** The file an input was first opened as (device and inode): every later open must find it again. */
interface FileIdentity {
  dev: number;
  ino: number;
}

/** Opens a file for reading, as what it holds when it is gzip. */
function openCursor(file: string, identity: FileIdentity | null): { cursor: Cursor; size: number; identity: FileIdentity } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if (identity && (err as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`${file}: removed while netprov was reading it`);
    throw unreadable(file, 'open', err);
  }
  try {
    const { dev, ino, size } = fstatSync(fd);
    if (identity && (dev !== identity.dev || ino !== identity.ino)) throw new InputError(`${file}: replaced by another file while netprov was reading it`);
    const magic = Buffer.alloc(2);
    const gzip = readSync(fd, magic, 0, 2, 0) === 2 && isGzip(magic);
    return { cursor: gzip ? Cursor.ofGzipFile(fd) : Cursor.ofFile(fd), size, identity: { dev, ino } };
  } catch (err) {
    closeSync(fd);
    throw err instanceof InputError ? err : unreadable(file, 'read', err);
  }
}

/** Opens the right reader for a file's content; a gzip file is read as what it holds. */
function openInput(file: string, interfaces: InterfaceNumbers, identity: FileIdentity | null): { source: ImportSource; size: number; identity: FileIdentity } {
  const { cursor, size, identity: found } = openCursor(file, identity);
  try {
    cursor.ensure(HEAD);
  } catch (err) {
    cursor.close();
    throw unreadable(file, 'read', err);
  }
  const head = cursor.buf.subarray(cursor.pos, cursor.pos + Math.min(HEAD, cursor.available));
  let source: ImportSource;
  if (isPcap(head)) source = openPcap(cursor, file, interfaces);
  else if (isPcapng(head)) source = openPcapng(cursor, file, interfaces);
  else if (isEslogger(head)) source = openEslogger(cursor, file);
  else {
    const damage = cursor.damage;
    cursor.close();
    if (damage) throw new InputError(`${file}: ${damage}, before any capture could be read`);
    throw new InputError(`${file}: ${notACapture(head, cursor.gzipped) ?? 'not a pcap, pcapng, eslogger JSON or gzip of one (input kinds are detected from content)'}`);
  }
  return { source: withDamageReported(source, cursor), size, identity: found };
}

/** What a closed input reads. */
const ENDED: ImportSource = { file: '', description: '', notes: { warnings: [] }, events: { next: () => ({ done: true, value: undefined }) }, close() {} };

/**
 * The interface numbers one input takes from the session's, given again in the same order when
 * the input is read again from its start (Input): its interfaces keep their numbers. The
 * session's are handed out in command-line order as each input is first opened, then as the
 * merge meets later interface blocks.
 */
class ReplayedNumbers extends InterfaceNumbers {
  private readonly taken: number[] = [];
  private at = 0;
  constructor(private readonly session: InterfaceNumbers) {
    super();
  }
  override allocate(): number {
    if (this.at === this.taken.length) this.taken.push(this.session.allocate());
    return this.taken[this.at++];
  }
  replay(): void {
    this.at = 0;
  }
}

/**
 * One input of a merge. Each is opened to read its first event (the session starts at the
 * earliest, and the merge orders the inputs by their next events); with several, each is then
 * closed until the merge reaches that event, and read again from its start. Rotated captures
 * (`tcpdump -C`, `-G`: thousands of files) hold one open file and its windows at a time, not one
 * per file — 4 MiB windows and a descriptor each, which broke the memory bound at a few hundred
 * files and the open-file limit at a few thousand.
 */
class Input implements ImportSource {
  readonly description: string;
  readonly size: number;
  /** The first event, which the merge holds while the input waits. */
  readonly first: Timed | undefined;
  notes: ImportNotes;
  readonly events: Iterator<Timed> = { next: () => this.reading().events.next() };
  private source: ImportSource | null;
  private readonly identity: FileIdentity;
  private readonly numbers: ReplayedNumbers;
  private offered: [PcapRecordsReader, [number, number]] | null = null;
  /** Bytes of the file read when it was closed for good. */
  private read = 0;
  private closed = false;

  constructor(
    readonly file: string,
    interfaces: InterfaceNumbers,
  ) {
    this.numbers = new ReplayedNumbers(interfaces);
    const { source, size, identity } = openInput(file, this.numbers, null);
    this.source = source;
    this.size = size;
    this.identity = identity;
    this.notes = source.notes;
    try {
      this.first = source.events.next().value as Timed | undefined;
    } catch (err) {
      source.close();
      throw err;
    }
    this.description = source.description;
  }

  /** Closes the file until the merge reaches the input's first event. */
  suspend(): void {
    if (!this.first) return;
    this.source?.close();
    this.source = null;
  }

  bytesRead(): number {
    return this.source?.bytesRead?.() ?? this.read;
  }

  offerRecords(reader: PcapRecordsReader, start: [number, number]): void {
    this.offered = [reader, start];
    this.source?.offerRecords?.(reader, start);
  }

  /** Closes the file for good, and lets go of its reader (whose windows its last events hold). */
  close(): void {
    if (!this.source) return;
    this.read = this.source.bytesRead?.() ?? 0;
    this.source.close();
    this.source = null;
    this.closed = true;
  }

  /** The open reader, opened again from the start past its first event if the input waited. */
  private reading(): ImportSource {
    if (this.source) return this.source;
    if (this.closed) return ENDED;
    this.numbers.replay();
    const { source } = openInput(this.file, this.numbers, this.identity);
    this.source = source;
    this.notes = source.notes;
    const first = source.events.next().value as Timed | undefined;
    if (first?.sec !== this.first!.sec || first.nsec !== this.first!.nsec) {
      throw new InputError(`${this.file}: changed while netprov was reading it (its first event is no longer at ${this.first!.sec} s)`);
    }
    if (this.offered) source.offerRecords?.(...this.offered);
    return source;
  }
}

/** A gzip stream that breaks part-way: everything before the damage is read, then one warning and a loss. */
function withDamageReported(source: ImportSource, cursor: Cursor): ImportSource {
  const { file, notes } = source;
  // A plain iterator, not a generator around the source's: one more generator per event measured ~5% of a load.
  let last: Timed | undefined;
  let reported = false;
  const events: Iterator<Timed> = {
    next(): IteratorResult<Timed> {
      const next = source.events.next();
      if (!next.done) {
        last = next.value;
        return next;
      }
      if (cursor.damage && !reported) {
        reported = true;
        notes.warnings.push(`${file}: ${cursor.damage}; read up to offset ${cursor.offset} of its decompressed bytes`);
        return { done: false, value: importLoss(last?.sec ?? 0, last?.nsec ?? 0, file, 1, `${cursor.damage}; the rest of the file not read`) };
      }
      return next;
    },
  };
  return {
    file,
    get description() {
      return source.description;
    },
    events,
    notes,
    bytesRead: () => cursor.bytesRead,
    offerRecords: source.offerRecords,
    close: () => source.close(),
  };
}

/**
 * A session id from the inputs' sizes and the bytes at both ends of each: stable across runs,
 * distinct across captures. Each end's piece is 1 MiB for up to eight inputs (the ids earlier
 * netprovs gave), less for more (16 MiB in all, at least 4 KiB an end): a thousand rotated
 * captures hashed 1 MiB at each end was 2 GB read and hashed before the first packet.
 */
function sessionIdOf(files: string[]): string {
  const hash = createHash('sha256');
  const pieceSize = Math.max(4 << 10, Math.min(1 << 20, Math.floor((16 << 20) / (2 * files.length))));
  const piece = Buffer.alloc(pieceSize);
  for (const file of files) {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      hash.update(`${size}\0`);
      hash.update(piece.subarray(0, readSync(fd, piece, 0, piece.length, 0)));
      if (size > piece.length) hash.update(piece.subarray(0, readSync(fd, piece, 0, piece.length, Math.max(piece.length, size - piece.length))));
    } finally {
      closeSync(fd);
    }
  }
  const hex = hash.digest('hex');
  // Shaped as an RFC 9562 version 8 (custom) UUID.
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Captures opened together as one session: a header, then their merged events through `scan`. */
export class CaptureStream {
  readonly header: SessionHeader;
  /** Shaped as a session reader's report, so that the analyzer treats both alike. */
  readonly report: ReadReport;
  readonly inputs: { file: string; description: string }[];
  /** Link types netprov cannot dissect, counted as the events go by. */
  readonly undissected = new UndissectedLinkTypes();
  private readonly opened: Input[] = [];
  private readonly merge: Merge;
  private readonly start: [number, number];
  /** Packets a visitor took straight from a pcap's bytes (scan), counted with the events. */
  private packetsTaken = 0;

  constructor(files: string[], options: CaptureOptions = {}) {
    if (files.length === 0) throw new InputError('no input files');
    checkInputFiles(files);
    const interfaces = new InterfaceNumbers();
    try {
      for (const file of files) {
        const input = new Input(file, interfaces);
        this.opened.push(input);
        if (files.length > 1) input.suspend();
      }
      const heads = this.opened.map((input, index) => ({ source: input, next: input.first, index }));
      const start = earliest(heads);
      this.merge = new Merge(heads, start);
      this.start = start;
      this.header = newHeader({
        sessionId: sessionIdOf(files),
        startNs: startNsOf(start),
        host: options.host ?? 'unknown',
        sensor: { name: 'netprov-import', version: options.version ?? projectVersion() },
        clockNotes: `imported; session time is each input's own capture time: ${this.opened.map((s) => `${s.file} (${s.description})`).join('; ')}`,
      });
    } catch (err) {
      this.close();
      throw err;
    }
    this.inputs = this.opened.map(({ file, description }) => ({ file, description }));
    const bytes = this.opened.reduce((sum, o) => sum + o.size, 0);
    this.report = {
      file: files.join(' + '), bytes, bytesRead: 0, chunksGood: 0, chunksBad: 0, events: 0, unknownKinds: {}, badEvents: 0,
      problems: [], truncatedAt: null, stoppedAt: null, trailer: null,
    };
  }

  /** Every input's warnings, each one line naming its file and offset. */
  get warnings(): string[] {
    return this.opened.flatMap((o) => o.notes.warnings);
  }

  /**
   * Hands every event, in merged order, to `deliver` (as a SessionWriter would store it: an event
   * the format cannot hold becomes a loss and a warning). Returns the number of events.
   * `pcapRecords` takes the packets it can straight from a pcap's or pcapng's bytes instead, as
   * long as they come before the other inputs' next events: those skip `deliver` (they are
   * counted). Rotated captures (`tcpdump -C`, `-G`) are each taken whole that way.
   */
  forEach(deliver: (event: SessionEvent) => void, pcapRecords?: PcapRecordsReader): number {
    let events = 0;
    const progress = () => (this.report.bytesRead = this.opened.reduce((sum, o) => sum + o.bytesRead(), 0));
    if (pcapRecords) {
      this.opened.forEach((input, index) =>
        input.offerRecords((records) => {
          records.untilT = this.merge.until(index);
          const taken = pcapRecords(records);
          if (taken) {
            this.packetsTaken += taken.packets;
            progress();
          }
          return taken;
        }, this.start),
      );
    }
    this.merge.run((event, source, sec) => {
      this.undissected.observe(event);
      let stored: SessionEvent | undefined;
      try {
        // Packets are checked as the writer checks them; anything else takes the reader's own
        // decoding, so an analysis straight from captures sees what it would from their session.
        stored = event.kind === 'packet' ? event : fromWire(toWire(event));
        if (!stored) throw new EventShapeError(`${event.kind} is no event kind of this format`);
        if (stored.kind === 'packet') checkEvent(stored);
      } catch (err) {
        if (!(err instanceof EventShapeError)) throw err;
        source.notes.warnings.push(`${source.file}: an event at ${sec} s could not be stored (${err.message}); recorded as a loss`);
        stored = { kind: 'loss', t: event.t, tExact: event.tExact, source: `import:${source.file}`, count: 1, reason: `an input event netprov cannot store: ${err.message}` };
      }
      deliver(stored);
      events++;
      if ((events & 0xffff) === 0) progress();
    });
    events += this.packetsTaken;
    this.report.events = events;
    this.report.bytesRead = this.report.bytes;
    return events;
  }

  /**
   * The analyzer's view: packets through `visitor.packet`, the rest through `visitor.event`;
   * `save` writes every event first (`analyze --save`), the very session `import` writes.
   */
  scan(visitor: EventVisitor, save?: SessionWriter): void {
    this.forEach((e) => {
      save?.append(e);
      if (e.kind === 'packet') visitor.packet(e.t, e.interfaceId, e.direction, e.origLen, e.data, 0, e.data.length, e.processKey, e.tExact);
      else visitor.event(e);
    }, save ? savedAndVisited(save, visitor) : visitor.pcapRecords);
  }

  close(): void {
    for (const input of this.opened) input.close();
  }
}
