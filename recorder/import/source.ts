/**
 * What every importer produces: events with the capture's own absolute time, in the order the
 * input holds them. The merge (merge.ts) turns absolute times into session time.
 */
import type { SessionEvent } from '../session/events.js';

export interface Timed {
  /** Seconds since the Unix epoch. */
  sec: number;
  /** Nanoseconds within the second, 0..999,999,999. */
  nsec: number;
  /** The event; its `t` is set by the merge. */
  event: SessionEvent;
}

/** Hands out session-wide interface numbers, so that several inputs never share one. */
export class InterfaceNumbers {
  private next = 0;
  allocate(): number {
    return this.next++;
  }
}

/** What an importer reports besides events: each a one-line message naming the file. */
export interface ImportNotes {
  warnings: string[];
}

/**
 * Packet records as they lie in a reader's window, offered to a consumer that reads packets
 * straight from the bytes (the analyzer's native decoder, `import`'s copy into the session)
 * instead of taking an event per packet. The object is reused from one offer to the next.
 */
export interface PcapRecords {
  /** The records from `pos` to `end` of `buf`; the last may be cut off by the window's end. */
  buf: Buffer;
  pos: number;
  end: number;
  /**
   * 'pcap': a classic pcap's records. 'pcapng': enhanced packet blocks of the one interface the
   * section numbers `blockInterface`, taken only with no option but epb_flags (a direction; others
   * can name a process) and with a time a session's clock holds; any other block ends what a
   * consumer takes (plain-records.ts).
   */
  layout: 'pcap' | 'pcapng';
  blockInterface: number;
  littleEndian: boolean;
  /** Times in ns (pcapng: if_tsresol 9), else µs. */
  nanos: boolean;
  linkType: number;
  interfaceId: number;
  /** The session start the packets' times count from: seconds and nanoseconds since 1970. */
  startSec: number;
  startNsec: number;
  /**
   * The session time (ns from its start) the records taken must come before: where the merge
   * would take another input's next event first (Infinity for a lone input).
   */
  untilT: number;
}

/** The records a consumer took, up to `pos`, and the own time of the last one. */
export interface PcapRecordsTaken {
  pos: number;
  packets: number;
  lastSec: number;
  lastNsec: number;
}

/** Takes as many of the records as it can from their start (none: null); the reader reads the rest. */
export type PcapRecordsReader = (records: PcapRecords) => PcapRecordsTaken | null;

export interface ImportSource {
  readonly file: string;
  /** A short description for the session's clock notes, e.g. "pcap, ns, Ethernet". */
  readonly description: string;
  readonly events: Iterator<Timed>;
  readonly notes: ImportNotes;
  /** Bytes of the file read so far (compressed bytes, for gzip): for progress bars. */
  bytesRead?(): number;
  /**
   * A pcap or pcapng reader offers its records to `reader` before reading each one itself: the
   * packets taken skip the merge with other inputs (each offer says until when they may).
   */
  offerRecords?(reader: PcapRecordsReader, start: [number, number]): void;
  close(): void;
}

/**
 * Times a session's clock can place: its start is a 64-bit count of ns since 1970 (int64 before
 * 1970, uint64 after), so from 1677 to 2554 — every time a pcap, a pcapng or eslogger writes for
 * a real clock. A time outside is an input's damage, not evidence.
 */
export const withinSessionClock = (sec: number): boolean => Number.isFinite(sec) && sec >= -9_223_372_036 && sec < 18_446_744_073;

/** A loss event for input that could not be read: never hidden, always counted. */
export function importLoss(sec: number, nsec: number, file: string, count: number, reason: string): Timed {
  return { sec, nsec, event: { kind: 'loss', t: 0, source: `import:${file}`, count, reason } };
}
