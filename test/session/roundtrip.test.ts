import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionReader } from '../../recorder/session/reader.js';
import { MemorySink } from '../../recorder/session/sink.js';
import { newHeader } from '../../recorder/session/new-header.js';
import { SessionWriter } from '../../recorder/session/writer.js';
import type { SessionEvent } from '../../recorder/session/events.js';
import { anyEvent } from './arbitraries.js';

/** Buffers decode as Buffer; compare packet bytes by value. */
const normalise = (e: SessionEvent) => (e.kind === 'packet' ? { ...e, data: Array.from(e.data) } : e);

function writeAll(events: SessionEvent[], chunkBytes: number): Buffer {
  const sink = new MemorySink();
  const writer = new SessionWriter(sink, newHeader({ startNs: 1732621987123456789n, sensor: { name: 'test', version: '0' } }), { chunkBytes });
  for (const e of events) writer.append(e);
  writer.close();
  return sink.bytes();
}

describe('session round trip', () => {
  it('reads back every event kind exactly, across chunk sizes', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 60 }), fc.integer({ min: 64, max: 4096 }), (events, chunkBytes) => {
        const reader = SessionReader.fromBytes(writeAll(events, chunkBytes), 'mem');
        const back = [...reader.events()];
        expect(back.map(normalise)).toEqual(events.map(normalise));
        expect(reader.report.problems).toEqual([]);
        expect(reader.report.trailer?.counts).toEqual(
          events.reduce<Record<string, number>>((acc, e) => ((acc[e.kind] = (acc[e.kind] ?? 0) + 1), acc), {}),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('scan() (the analyzer\'s allocation-free path) sees exactly what events() sees', () => {
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 60 }), fc.integer({ min: 64, max: 4096 }), (events, chunkBytes) => {
        const bytes = writeAll(events, chunkBytes);
        const scanned: SessionEvent[] = [];
        const reader = SessionReader.fromBytes(bytes, 'mem');
        reader.scan({
          packet: (t, interfaceId, direction, origLen, data, start, end, processKey) =>
            scanned.push({ kind: 'packet', t, interfaceId, direction: direction as 0 | 1 | 2, origLen, data: data.slice(start, end), processKey }),
          event: (e) => scanned.push(e),
        });
        expect(scanned.map(normalise)).toEqual(events.map(normalise));
        expect(reader.report.events).toBe(events.length);
        expect(reader.report.problems).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the header start time exact to the nanosecond', () => {
    const reader = SessionReader.fromBytes(writeAll([], 1024), 'mem');
    expect(reader.header.startNs).toBe(1732621987123456789n);
    expect(reader.header.sensor).toEqual({ name: 'test', version: '0' });
  });
});

describe('session writer', () => {
  it('flushes a partly filled chunk by time, so a live session on disk is never far behind', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { FileSink } = await import('../../recorder/session/sink.js');
    const { scratch } = await import('../helpers/paths.js');
    const path = join(scratch(), 'live.npsession');
    const writer = new SessionWriter(new FileSink(path), newHeader({ startNs: 0n, sensor: { name: 'test', version: '0' } }), { chunkBytes: 1 << 20, flushMs: 20 });
    writer.append({ kind: 'mark', t: 1, text: 'first' });
    const before = [...SessionReader.fromBytes(readFileSync(path), 'live').events()];
    await new Promise((resolve) => setTimeout(resolve, 80));
    const after = [...SessionReader.fromBytes(readFileSync(path), 'live').events()];
    writer.close();
    expect(before).toEqual([]);
    expect(after).toEqual([{ kind: 'mark', t: 1, text: 'first' }]);
  });
});
