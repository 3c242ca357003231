/**
 * Several inputs into one session in time order. Each input is taken in its own order (a capture
 * is never re-sorted); at each step the input whose next event is earliest goes first, and on a
 * tie the input named first on the command line. The session starts at the earliest first event.
 */
import { InputError } from '../errors.js';
import type { SessionEvent } from '../session/events.js';
import type { ImportSource, Timed } from './source.js';

export interface MergeHead {
  source: ImportSource;
  next: Timed | undefined;
}

/** Peeks every source's first event: the session start is needed before the header is written. */
export function peekAll(sources: ImportSource[]): { heads: MergeHead[]; start: [number, number] } {
  const heads = sources.map((source) => ({ source, next: source.events.next().value as Timed | undefined }));
  let start: [number, number] | null = null;
  for (const { next } of heads) {
    if (next && (!start || next.sec < start[0] || (next.sec === start[0] && next.nsec < start[1]))) start = [next.sec, next.nsec];
  }
  return { heads, start: start ?? [0, 0] };
}

export const startNsOf = ([sec, nsec]: [number, number]): bigint => BigInt(sec) * 1_000_000_000n + BigInt(nsec);

/** A time's session time: ns from the session start, as a double (exact within 2^53 ns). */
export const sessionNs = (sec: number, nsec: number, startSec: number, startNsec: number): number => (sec - startSec) * 1e9 + (nsec - startNsec);

/**
 * Hands every event of every head to `deliver` in merged order, its `t` (and past 2^53 ns its
 * `tExact`) set to session time; `sec` is its own time, for messages.
 */
export function mergeEvents(heads: MergeHead[], [startSec, startNsec]: [number, number], deliver: (event: SessionEvent, source: ImportSource, sec: number) => void): void {
  for (;;) {
    let best: MergeHead | undefined;
    for (const head of heads) {
      const n = head.next;
      if (n && (!best || n.sec < best.next!.sec || (n.sec === best.next!.sec && n.nsec < best.next!.nsec))) best = head;
    }
    if (!best) return;
    const { sec, nsec, event } = best.next!;
    // Exact whatever the span: past 2^53 ns (104 days) the offset is written as a 64-bit integer.
    event.t = sessionNs(sec, nsec, startSec, startNsec);
    if (!Number.isSafeInteger(event.t)) {
      event.tExact = BigInt(sec - startSec) * 1_000_000_000n + BigInt(nsec - startNsec);
      if (event.tExact >= 2n ** 64n || event.tExact < -(2n ** 63n)) {
        throw new InputError(`${best.source.file}: event at ${sec} s since 1970 is more than 584 years from the session start (${startSec} s), beyond what a session's 64-bit clock holds`);
      }
    }
    deliver(event, best.source, sec);
    best.next = best.source.events.next().value as Timed | undefined;
  }
}
