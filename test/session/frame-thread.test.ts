/**
 * FrameThread writes, from its own thread, the bytes InlineFrames writes on the caller's: the
 * same session whichever way it was framed, across many turns of the ring, with a payload too
 * big for a slot among them.
 */
import fc from 'fast-check';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../recorder/session/events.js';
import { FrameThread } from '../../recorder/session/frame-thread.js';
import { newHeader } from '../../recorder/session/new-header.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { FileSink, MemorySink } from '../../recorder/session/sink.js';
import { SessionWriter, chunkRoom } from '../../recorder/session/writer.js';
import { scratch } from '../helpers/paths.js';
import { anyEvent } from './arbitraries.js';

const header = newHeader({ startNs: 1732621987123456789n, sensor: { name: 'test', version: '0' } });
const CHUNK = 4096;

function events(): SessionEvent[] {
  const mixed = fc.sample(anyEvent, { numRuns: 400, seed: 13 });
  const packet = (i: number, size: number): SessionEvent => ({ kind: 'packet', t: 1000 + i, interfaceId: 0, direction: 1, origLen: size, data: Buffer.alloc(size, i), processKey: null });
  const packets = Array.from({ length: 3000 }, (_, i) => packet(i, 40 + ((i * 97) % 1500)));
  // Bigger than a slot (chunkRoom(CHUNK)): framed on the caller's thread, in its turn.
  packets.splice(1500, 0, packet(1500, chunkRoom(CHUNK) + 10_000));
  return [...mixed.slice(0, 200), ...packets, ...mixed.slice(200)];
}

const writeWith = (writer: SessionWriter, all: SessionEvent[]) => {
  for (const event of all) writer.append(event);
  writer.close();
};

describe('FrameThread', () => {
  it('writes the bytes InlineFrames writes', () => {
    const all = events();
    const inline = new MemorySink();
    writeWith(new SessionWriter(inline, header, { chunkBytes: CHUNK }), all);
    const path = join(scratch(), 'threaded.npsession');
    writeWith(new SessionWriter(new FrameThread(new FileSink(path), chunkRoom(CHUNK)), header, { chunkBytes: CHUNK }), all);
    const threaded = readFileSync(path);
    expect(threaded.length).toBe(inline.bytes().length);
    expect(threaded.equals(inline.bytes())).toBe(true);
    const reader = SessionReader.fromBytes(threaded, path);
    expect([...reader.events()]).toHaveLength(all.length);
    expect(reader.report.problems).toEqual([]);
  });

  it('abandons at once, writing nothing more, and may be abandoned twice', () => {
    const path = join(scratch(), 'abandoned.npsession');
    const writer = new SessionWriter(new FrameThread(new FileSink(path), chunkRoom(CHUNK)), header, { chunkBytes: CHUNK });
    for (const event of events()) writer.append(event);
    writer.abandon();
    const size = statSync(path).size;
    writer.abandon();
    expect(() => writer.append(events()[0])).toThrow(/after close/);
    expect(statSync(path).size).toBe(size);
    expect(SessionReader.fromBytes(readFileSync(path), path, { salvage: true }).report.trailer).toBeFalsy();
  });
});
