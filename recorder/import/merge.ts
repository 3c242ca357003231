/**
 * Several inputs into one session in time order. Each input is taken in its own order (a capture
 * is never re-sorted); at each step the input whose next event is earliest goes first, and on a
 * tie the input named first on the command line. The session starts at the earliest first event.
 */
import { InputError } from '../errors.js';
import { EventShapeError } from '../session/codec.js';
import type { SessionWriter } from '../session/writer.js';
import type { UndissectedLinkTypes } from './linktype.js';
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

/** Writes every event of every head in merged order; returns the number written. */
export function mergeInto(writer: SessionWriter, heads: MergeHead[], [startSec, startNsec]: [number, number], tally?: UndissectedLinkTypes): number {
  let written = 0;
  for (;;) {
    let best: MergeHead | undefined;
    for (const head of heads) {
      const n = head.next;
      if (n && (!best || n.sec < best.next!.sec || (n.sec === best.next!.sec && n.nsec < best.next!.nsec))) best = head;
    }
    if (!best) return written;
    const { sec, nsec, event } = best.next!;
    // Exact whatever the span: past 2^53 ns (104 days) the offset is written as a 64-bit integer.
    event.t = (sec - startSec) * 1e9 + (nsec - startNsec);
    if (!Number.isSafeInteger(event.t)) {
      event.tExact = BigInt(sec - startSec) * 1_000_000_000n + BigInt(nsec - startNsec);
      if (event.tExact >= 2n ** 64n || event.tExact < -(2n ** 63n)) {
        throw new InputError(`${best.source.file}: event at ${sec} s since 1970 is more than 584 years from the session start (${startSec} s), beyond what a session's 64-bit clock holds`);
      }
    }
    tally?.observe(event);
    try {
      writer.append(event);
    } catch (err) {
      if (!(err instanceof EventShapeError)) throw err;
      // A value the session format cannot hold (a pid of 2^64, a string where a number goes): the
      // event is not written, and the session says so.
      best.source.notes.warnings.push(`${best.source.file}: an event at ${sec} s could not be stored (${err.message}); recorded as a loss`);
      writer.append({ kind: 'loss', t: event.t, tExact: event.tExact, source: `import:${best.source.file}`, count: 1, reason: `an input event netprov cannot store: ${err.message}` });
    }
    written++;
    best.next = best.source.events.next().value as Timed | undefined;
  }
}
