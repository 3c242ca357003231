/**
 * `netprov replay`: a session's events, in replay order, at the recorded pace (or faster), as
 * session frames (what a live sensor hands the recorder) or as JSON lines.
 */
import { toJson } from '../cli/output.js';
import type { KindName, SessionEvent } from '../session/events.js';
import { SessionReader } from '../session/reader.js';
import type { ByteSink } from '../session/sink.js';
import { SessionWriter } from '../session/writer.js';
import { RealClock, type Clock } from './clock.js';
import { orderedEvents, type ReplayFilter } from './order.js';

export interface ReplayOptions {
  /** Multiple of real time (1 = as recorded), or 'max' for as fast as the sink takes it. */
  speed: number | 'max';
  format: 'msgpack' | 'ndjson';
  filter?: ReplayFilter;
  clock?: Clock;
}

/** A sink that may ask the replay to wait (a socket's backpressure). */
export interface ReplaySink extends ByteSink {
  drained?(): Promise<void>;
}

export interface ReplaySummary {
  events: number;
  counts: Partial<Record<KindName, number>>;
}

export async function replay(path: string, sink: ReplaySink, options: ReplayOptions): Promise<ReplaySummary> {
  const header = SessionReader.open(path).header;
  const clock = options.clock ?? new RealClock();
  const counts: Partial<Record<KindName, number>> = {};
  // One chunk per instant: everything due now is flushed before the replay sleeps, so the
  // receiver sees each event when the recording did.
  const writer = options.format === 'msgpack' ? new SessionWriter(sink, header, { chunkBytes: 256 * 1024 }) : null;
  if (!writer) sink.write(Buffer.from(`${toJson({ header }, 0)}\n`));
  let events = 0;
  let firstT: number | null = null;
  let wallStart = 0;
  for (const event of orderedEvents(path, options.filter)) {
    if (firstT === null) {
      firstT = event.t;
      wallStart = clock.now();
    }
    if (options.speed !== 'max') {
      const due = wallStart + (event.t - firstT) / 1e6 / options.speed;
      if (due > clock.now()) {
        writer?.flush();
        await sink.drained?.();
        await clock.sleepUntil(due);
      }
    }
    if (writer) writer.append(event);
    else sink.write(Buffer.from(`${eventJson(event)}\n`));
    counts[event.kind] = (counts[event.kind] ?? 0) + 1;
    events++;
    if (events % 4096 === 0) await sink.drained?.();
  }
  if (writer) writer.close();
  else sink.close();
  await sink.drained?.();
  return { events, counts };
}

/**
 * One event as JSON: packet bytes in base64; times past 2^53 ns from the start (tExact) and clock
 * readings past it as decimal strings, exact.
 */
export function eventJson(event: SessionEvent): string {
  return toJson(event.kind === 'packet' ? { ...event, data: Buffer.from(event.data).toString('base64') } : event, 0);
}
