/**
 * Several inputs into one session in time order. Each input is taken in its own order (a capture
 * is never re-sorted); at each step the input whose next event is earliest goes first, and on a
 * tie the input named first on the command line. The session starts at the earliest first event.
 *
 * The inputs wait in a binary heap by their next event: a merge of n inputs costs log n a step,
 * not n (a thousand rotated captures would otherwise compare a thousand heads for every event),
 * and an input whose events have ended is closed at once.
 */
import { InputError } from '../errors.js';
import type { SessionEvent } from '../session/events.js';
import type { ImportSource, Timed } from './source.js';

export interface MergeHead {
  source: ImportSource;
  next: Timed | undefined;
  /** Its place on the command line: ties go to the input named first. */
  index: number;
}

/** The earliest first event: where the session starts ([0, 0] when no input has an event). */
export function earliest(heads: MergeHead[]): [number, number] {
  let start: [number, number] | null = null;
  for (const { next } of heads) {
    if (next && (!start || next.sec < start[0] || (next.sec === start[0] && next.nsec < start[1]))) start = [next.sec, next.nsec];
  }
  return start ?? [0, 0];
}

export const startNsOf = ([sec, nsec]: [number, number]): bigint => BigInt(sec) * 1_000_000_000n + BigInt(nsec);

/** A time's session time: ns from the session start, as a double (exact within 2^53 ns). */
export const sessionNs = (sec: number, nsec: number, startSec: number, startNsec: number): number => (sec - startSec) * 1e9 + (nsec - startNsec);

const before = (a: MergeHead, b: MergeHead): boolean => {
  const x = a.next!;
  const y = b.next!;
  return x.sec !== y.sec ? x.sec < y.sec : x.nsec !== y.nsec ? x.nsec < y.nsec : a.index < b.index;
};

export class Merge {
  /** The heads with events left, earliest first at [0]; the head being read is out of it. */
  private readonly waiting: MergeHead[] = [];

  constructor(
    heads: MergeHead[],
    private readonly start: [number, number],
  ) {
    for (const head of heads) {
      if (head.next) this.push(head);
      else head.source.close();
    }
  }

  /**
   * The session time (ns) before which the input at `index`, being read, may hand events over
   * past the merge: the waiting inputs' earliest next event, which an input named earlier goes
   * before on a tie. Infinity when no other input waits.
   */
  until(index: number): number {
    const first = this.waiting[0];
    if (!first) return Infinity;
    const [startSec, startNsec] = this.start;
    return sessionNs(first.next!.sec, first.next!.nsec, startSec, startNsec) + (first.index > index ? 1 : 0);
  }

  /**
   * Hands every event of every input to `deliver` in merged order, its `t` (and past 2^53 ns its
   * `tExact`) set to session time; `sec` is its own time, for messages.
   */
  run(deliver: (event: SessionEvent, source: ImportSource, sec: number) => void): void {
    const [startSec, startNsec] = this.start;
    for (let best = this.pop(); best; best = this.pop()) {
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
      if (best.next) this.push(best);
      else best.source.close();
    }
  }

  private push(head: MergeHead): void {
    const heap = this.waiting;
    let at = heap.push(head) - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!before(head, heap[parent])) break;
      heap[at] = heap[parent];
      at = parent;
    }
    heap[at] = head;
  }

  private pop(): MergeHead | undefined {
    const heap = this.waiting;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || !last) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heap.length) break;
      const child = left + 1 < heap.length && before(heap[left + 1], heap[left]) ? left + 1 : left;
      if (!before(heap[child], last)) break;
      heap[at] = heap[child];
      at = child;
    }
    heap[at] = last;
    return top;
  }
}
