/**
 * A session's events in replay order: session time, then position in the file (SPEC.md,
 * "Replay order"). A session already in that order (what recorders and importers write) streams
 * in constant memory; one that is not is sorted in memory, up to a limit.
 */
import { InputError } from '../errors.js';
import type { KindName, SessionEvent } from '../session/events.js';
import { SessionReader } from '../session/reader.js';

export interface ReplayFilter {
  /** Session time bounds, ns, inclusive. */
  from?: number;
  until?: number;
  kinds?: Set<KindName>;
}

/** Past this many events, an out-of-order session is refused rather than sorted in memory. */
const MAX_SORTED_EVENTS = 20_000_000;

export function inTimeOrder(path: string): boolean {
  const reader = SessionReader.open(path);
  let last = -Infinity;
  for (const chunk of reader.chunks()) {
    for (const e of chunk) {
      if (e.t < last) return false;
      last = e.t;
    }
  }
  return true;
}

export function* orderedEvents(path: string, filter: ReplayFilter = {}): Generator<SessionEvent> {
  const keep = (e: SessionEvent) =>
    (filter.from === undefined || e.t >= filter.from) && (filter.until === undefined || e.t <= filter.until) && (!filter.kinds || filter.kinds.has(e.kind));
  if (inTimeOrder(path)) {
    for (const chunk of SessionReader.open(path).chunks()) for (const e of chunk) if (keep(e)) yield e;
    return;
  }
  const events: SessionEvent[] = [];
  for (const chunk of SessionReader.open(path).chunks()) {
    for (const e of chunk) {
      if (!keep(e)) continue;
      if (events.length === MAX_SORTED_EVENTS) throw new InputError(`${path}: not in time order and over ${MAX_SORTED_EVENTS} events: too large to sort for replay`);
      events.push(e);
    }
  }
  // Array.prototype.sort is stable: equal times keep their file order.
  yield* events.sort((a, b) => a.t - b.t);
}
