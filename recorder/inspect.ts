/**
 * `netprov inspect`: what a session file holds, read end to end without trusting the trailer.
 */
import type { KindName, SessionHeader, SessionTrailer } from './session/events.js';
import { SessionReader, type ReadProblem } from './session/reader.js';
import { UndissectedLinkTypes } from './import/linktype.js';

export interface Inspection {
  file: string;
  bytes: number;
  header: Omit<SessionHeader, 'startNs'> & { startNs: string; start: string };
  /** First and last event time, ns since start (null for a session without events). */
  firstT: number | null;
  lastT: number | null;
  /** Wall-clock times of the first and last event. */
  first: string | null;
  last: string | null;
  counts: Partial<Record<KindName, number>>;
  losses: { source: string; reason: string; count: number }[];
  lostEvents: number;
  chunks: { good: number; bad: number };
  unknownKinds: Record<number, number>;
  badEvents: number;
  complete: boolean;
  truncatedAt: number | null;
  stoppedAt: number | null;
  problems: ReadProblem[];
  /** Packets on link types the analyzer does not dissect, one line per link type. */
  undissected: string[];
  trailer: SessionTrailer | null;
}

/** ns since the epoch -> ISO-8601 with all nine fractional digits, UTC. */
export function isoNs(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const fraction = (((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).toString().padStart(9, '0');
  const floorSeconds = ns < 0n && fraction !== '000000000' ? seconds - 1n : seconds;
  return new Date(Number(floorSeconds) * 1000).toISOString().replace('.000Z', `.${fraction}Z`);
}

export function inspect(path: string, salvage = false): Inspection {
  const reader = SessionReader.open(path, { salvage });
  const counts: Partial<Record<KindName, number>> = {};
  const losses = new Map<string, { source: string; reason: string; count: number }>();
  let firstT: number | null = null;
  let lastT: number | null = null;
  let first: bigint | null = null;
  let last: bigint | null = null;
  const tally = new UndissectedLinkTypes();
  for (const chunk of reader.chunks()) {
    for (const event of chunk) {
      tally.observe(event);
      counts[event.kind] = (counts[event.kind] ?? 0) + 1;
      if (firstT === null || event.t < firstT) [firstT, first] = [event.t, event.tExact ?? BigInt(event.t)];
      if (lastT === null || event.t > lastT) [lastT, last] = [event.t, event.tExact ?? BigInt(event.t)];
      if (event.kind === 'loss') {
        const key = `${event.source}\0${event.reason}`;
        const entry = losses.get(key) ?? { source: event.source, reason: event.reason, count: 0 };
        entry.count += event.count;
        losses.set(key, entry);
      }
    }
  }
  const { header, report } = reader;
  const wall = (t: bigint | null) => (t === null ? null : isoNs(header.startNs + t));
  const lossList = [...losses.values()].sort((a, b) => a.source.localeCompare(b.source) || a.reason.localeCompare(b.reason));
  return {
    file: path,
    bytes: report.bytes,
    header: { ...header, startNs: header.startNs.toString(), start: isoNs(header.startNs) },
    firstT,
    lastT,
    first: wall(first),
    last: wall(last),
    counts,
    losses: lossList,
    lostEvents: lossList.reduce((sum, l) => sum + l.count, 0),
    chunks: { good: report.chunksGood, bad: report.chunksBad },
    unknownKinds: report.unknownKinds,
    badEvents: report.badEvents,
    complete: report.trailer !== null,
    truncatedAt: report.truncatedAt,
    stoppedAt: report.stoppedAt,
    problems: report.problems,
    undissected: tally.lines(),
    trailer: report.trailer,
  };
}
