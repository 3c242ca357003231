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
import { mergeEvents, peekAll, sessionNs, startNsOf, type MergeHead } from './merge.js';
import { openPcap } from './pcap.js';
import { openPcapng } from './pcapng.js';
import { savedAndVisited } from './pcap-to-session.js';
import { importLoss, InterfaceNumbers, type ImportSource, type PcapRecordsReader, type Timed } from './source.js';

export interface CaptureOptions {
  host?: string;
  /** netprov's version, for the header's sensor field (default: this one's). */
  version?: string;
}

const HEAD = 64 * 1024;

interface OpenedInput {
  source: ImportSource;
  size: number;
}

function openCursor(file: string): Cursor {
  try {
    const fd = openSync(file, 'r');
    const magic = Buffer.alloc(2);
    const n = readSync(fd, magic, 0, 2, 0);
    closeSync(fd);
    return n === 2 && isGzip(magic) ? Cursor.ofGzipFile(file) : Cursor.ofFile(file);
  } catch (err) {
    throw unreadable(file, 'open', err);
  }
}

/** Opens the right reader for a file's content; a gzip file is read as what it holds. */
function openInput(file: string, interfaces: InterfaceNumbers): ImportSource {
  const cursor = openCursor(file);
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
  return withDamageReported(source, cursor);
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

/** A session id from the inputs' sizes and their first and last MiB: stable across runs, distinct across captures. */
function sessionIdOf(files: string[]): string {
  const hash = createHash('sha256');
  const piece = Buffer.alloc(1 << 20);
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
  private readonly opened: OpenedInput[];
  private readonly heads: MergeHead[];
  private readonly start: [number, number];
  /** Packets a visitor took straight from a pcap's bytes (scan), counted with the events. */
  private packetsTaken = 0;

  constructor(files: string[], options: CaptureOptions = {}) {
    if (files.length === 0) throw new InputError('no input files');
    checkInputFiles(files);
    const interfaces = new InterfaceNumbers();
    this.opened = [];
    try {
      for (const file of files) {
        const source = openInput(file, interfaces);
        this.opened.push({ source, size: Cursor.fileSize(file) });
      }
      const { heads, start } = peekAll(this.opened.map((o) => o.source));
      this.heads = heads;
      this.start = start;
      this.header = newHeader({
        sessionId: sessionIdOf(files),
        startNs: startNsOf(start),
        host: options.host ?? 'unknown',
        sensor: { name: 'netprov-import', version: options.version ?? projectVersion() },
        clockNotes: `imported; session time is each input's own capture time: ${this.opened.map(({ source: s }) => `${s.file} (${s.description})`).join('; ')}`,
      });
    } catch (err) {
      this.close();
      throw err;
    }
    this.inputs = this.opened.map(({ source }) => ({ file: source.file, description: source.description }));
    const bytes = this.opened.reduce((sum, o) => sum + o.size, 0);
    this.report = {
      file: files.join(' + '), bytes, bytesRead: 0, chunksGood: 0, chunksBad: 0, events: 0, unknownKinds: {}, badEvents: 0,
      problems: [], truncatedAt: null, stoppedAt: null, trailer: null,
    };
  }

  /** Every input's warnings, each one line naming its file and offset. */
  get warnings(): string[] {
    return this.opened.flatMap((o) => o.source.notes.warnings);
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
    const progress = () => (this.report.bytesRead = this.opened.reduce((sum, o) => sum + (o.source.bytesRead?.() ?? 0), 0));
    if (pcapRecords) {
      this.opened.forEach(({ source }, index) =>
        source.offerRecords?.((records) => {
          records.untilT = this.untilFor(index);
          const taken = pcapRecords(records);
          if (taken) {
            this.packetsTaken += taken.packets;
            progress();
          }
          return taken;
        }, this.start),
      );
    }
    mergeEvents(this.heads, this.start, (event, source, sec) => {
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
   * The session time (ns) before which the input at `index` may hand records over past the merge
   * (mergeEvents): the other inputs' next events' earliest, which an input named earlier goes
   * before on a tie.
   */
  private untilFor(index: number): number {
    const [startSec, startNsec] = this.start;
    let until = Infinity;
    this.heads.forEach(({ next }, other) => {
      if (other === index || !next) return;
      const t = sessionNs(next.sec, next.nsec, startSec, startNsec) + (other > index ? 1 : 0);
      if (t < until) until = t;
    });
    return until;
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
    for (const { source } of this.opened) source.close();
  }
}
