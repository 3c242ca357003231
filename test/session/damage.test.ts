import { describe, expect, it } from 'vitest';
import { InputError } from '../../recorder/errors.js';
import type { SessionEvent } from '../../recorder/session/events.js';
import { FILE_SIGNATURE, FRAME_HEADER_SIZE } from '../../recorder/session/frame.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { MemorySink } from '../../recorder/session/sink.js';
import { newHeader } from '../../recorder/session/new-header.js';
import { SessionWriter } from '../../recorder/session/writer.js';

const marks = (n: number): SessionEvent[] => Array.from({ length: n }, (_, i) => ({ kind: 'mark', t: i, text: `event ${i}` }));

/** A session of 40 marks in chunks of about 5, with each chunk's byte range. */
function smallSession() {
  const sink = new MemorySink();
  const writer = new SessionWriter(sink, newHeader({ startNs: 1n, sensor: { name: 'test', version: '0' } }), { chunkBytes: 60 });
  for (const e of marks(40)) writer.append(e);
  writer.close();
  return sink.bytes();
}

/** Offsets of every frame, found by walking the lengths the writer wrote. */
function frameOffsets(bytes: Buffer): number[] {
  const offsets: number[] = [];
  for (let at = FILE_SIGNATURE.length; at < bytes.length; at += FRAME_HEADER_SIZE + bytes.readUInt32LE(at + 12)) offsets.push(at);
  return offsets;
}

describe('truncated sessions', () => {
  it('load their intact prefix when cut at every byte offset', () => {
    const bytes = smallSession();
    const frames = frameOffsets(bytes);
    const headerEnd = frames[1];
    for (let cut = 0; cut <= bytes.length; cut++) {
      const prefix = bytes.subarray(0, cut);
      if (cut < headerEnd) {
        expect(() => SessionReader.fromBytes(prefix, 'cut'), `cut at ${cut}`).toThrow(InputError);
        continue;
      }
      const reader = SessionReader.fromBytes(prefix, 'cut');
      const events = [...reader.events()];
      // Every chunk that ends at or before the cut is whole and must load, in order.
      const wholeChunks = frames.filter((at, i) => i > 0 && (frames[i + 1] ?? bytes.length) <= cut && i < frames.length - 1).length;
      expect(reader.report.chunksGood, `cut at ${cut}`).toBe(wholeChunks);
      expect(events, `cut at ${cut}`).toEqual(marks(events.length));
      expect(reader.report.problems, `cut at ${cut}`).toEqual([]);
      expect(reader.report.truncatedAt === null, `cut at ${cut}`).toBe(frames.includes(cut) || cut === bytes.length);
    }
  });
});

describe('corrupted sessions', () => {
  it('report a flipped byte in a middle chunk with its offset, and salvage the rest', () => {
    const bytes = smallSession();
    const frames = frameOffsets(bytes);
    const middle = frames[Math.floor(frames.length / 2)];
    const damaged = Buffer.from(bytes);
    damaged[middle + FRAME_HEADER_SIZE + 3] ^= 0xff;

    const strict = SessionReader.fromBytes(damaged, 'bad');
    const before = [...strict.events()];
    expect(strict.report.stoppedAt).toBe(middle);
    expect(strict.report.problems[0]).toEqual({ offset: middle, message: 'payload checksum mismatch' });
    expect(before).toEqual(marks(before.length));

    const salvaged = SessionReader.fromBytes(damaged, 'bad', { salvage: true });
    const all = [...salvaged.events()];
    expect(salvaged.report.chunksBad).toBe(1);
    expect(all.length).toBeGreaterThan(before.length);
    expect(all.length).toBeLessThan(40);
    expect(all.at(-1)).toEqual(marks(40)[39]);
    expect(salvaged.report.trailer?.counts.mark).toBe(40);
  });

  it('salvage skips a damaged frame header by scanning for the next frame', () => {
    const bytes = smallSession();
    const frames = frameOffsets(bytes);
    const damaged = Buffer.from(bytes);
    damaged[frames[2] + 13] ^= 0x40; // the payload length: caught by the header checksum
    const reader = SessionReader.fromBytes(damaged, 'bad', { salvage: true });
    const events = [...reader.events()];
    expect(reader.report.problems[0]).toEqual({ offset: frames[2], message: 'header checksum mismatch' });
    expect(reader.report.problems.some((p) => p.message.includes(`next intact frame at offset ${frames[3]}`))).toBe(true);
    expect(events.at(-1)?.t).toBe(39);
  });

  it('refuses a file that is not a session, and a newer major version, naming both versions', async () => {
    expect(() => SessionReader.fromBytes(Buffer.from('hello world, not a session'), 'x.txt')).toThrow(/x.txt: not a netprov session/);
    const { packr } = await import('../../recorder/session/msgpack.js');
    const { encodeFrame, FrameType } = await import('../../recorder/session/frame.js');
    const header = packr.pack({ format: 'netprov-session', version: [2, 1], start_ns: 0 });
    const future = Buffer.concat([FILE_SIGNATURE, encodeFrame(FrameType.header, 0, 0, header)]);
    expect(() => SessionReader.fromBytes(future, 'new.msgpack')).toThrow(/version 2\.1 is newer than this netprov reads \(1\.2\)/);
  });

  it('skips and counts unknown event kinds', async () => {
    const { packr } = await import('../../recorder/session/msgpack.js');
    const { encodeFrame, FrameType } = await import('../../recorder/session/frame.js');
    const { encodeHeader } = await import('../../recorder/session/header.js');
    const payload = Buffer.concat([packr.pack([99, 5, 'from the future']), packr.pack([11, 6, 'known'])]);
    const file = Buffer.concat([
      FILE_SIGNATURE,
      encodeFrame(FrameType.header, 0, 0, encodeHeader(newHeader({ startNs: 0n, sensor: { name: 't', version: '0' } }))),
      encodeFrame(FrameType.events, 1, 2, payload),
    ]);
    const reader = SessionReader.fromBytes(file, 'mixed');
    expect([...reader.events()]).toEqual([{ kind: 'mark', t: 6, text: 'known' }]);
    expect(reader.report.unknownKinds).toEqual({ 99: 1 });
  });
});
