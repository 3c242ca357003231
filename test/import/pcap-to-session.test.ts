/**
 * A lone pcap's records, or a pcapng's enhanced packet blocks, copied into the session
 * (pcap-to-session.ts) make the very bytes the event-by-event path makes, and the copy hands back to that path everything it does not take:
 * chunk and window boundaries, packets too big for the chunk's room, impossible records, a file
 * cut short, damaged fractions, time running backwards or past 2^53 ns, link types it leaves alone.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureStream } from '../../recorder/import/captures.js';
import { LinkType } from '../../recorder/import/linktype.js';
import { pcapToSession } from '../../recorder/import/pcap-to-session.js';
import type { PcapRecordsReader } from '../../recorder/import/source.js';
import { MemorySink } from '../../recorder/session/sink.js';
import { SessionWriter } from '../../recorder/session/writer.js';
import { pcapFile, pcapngFile, type CapturePacket } from '../helpers/capture-writer.js';
import { scratch } from '../helpers/paths.js';

const START = 1_732_621_987_123_456_789n;
const CHUNK = 16 * 1024;
const folder = scratch();

function packets(count: number, size: (i: number) => number): CapturePacket[] {
  return Array.from({ length: count }, (_, i) => ({ ns: START + BigInt(i) * 1_000_003n, data: Buffer.alloc(size(i), i % 251) }));
}

/** The session of `file` written both ways, and how many packets the copy took. */
function bothWays(input: string | string[]) {
  const files = typeof input === 'string' ? [input] : input;
  const write = (copy: boolean) => {
    const captures = new CaptureStream(files, { host: 'test', version: '0' });
    const sink = new MemorySink();
    const writer = new SessionWriter(sink, captures.header, { chunkBytes: CHUNK });
    let taken = 0;
    const reader = pcapToSession(writer);
    const counting: PcapRecordsReader = (records) => {
      const result = reader(records);
      taken += result?.packets ?? 0;
      return result;
    };
    const events = captures.forEach((event) => writer.append(event), copy ? counting : undefined);
    writer.close();
    captures.close();
    return { bytes: sink.bytes(), events, warnings: captures.warnings, taken };
  };
  const copied = write(true);
  const oneByOne = write(false);
  expect(copied.events).toBe(oneByOne.events);
  expect(copied.warnings).toEqual(oneByOne.warnings);
  expect(copied.bytes.equals(oneByOne.bytes)).toBe(true);
  return copied;
}

function saved(name: string, bytes: Buffer): string {
  const file = join(folder, name);
  writeFileSync(file, bytes);
  return file;
}

describe('pcap records copied into a session', () => {
  for (const littleEndian of [true, false]) {
    for (const nanos of [true, false]) {
      it(`makes the same session as the event path (${littleEndian ? 'little' : 'big'}-endian, ${nanos ? 'ns' : 'µs'})`, () => {
        // ~6 MB: several of the reader's 4 MiB windows and hundreds of chunks; every 997th packet
        // is too big for a chunk's room past a full one, every 1,499th bigger than any room.
        const all = packets(8000, (i) => (i % 1499 === 0 ? 100_000 : i % 997 === 0 ? 70_000 : 40 + ((i * 131) % 1475)));
        const result = bothWays(saved(`mixed-${littleEndian}-${nanos}.pcap`, pcapFile(all, { littleEndian, nanos, linkType: LinkType.ethernet })));
        expect(result.events).toBe(8001);
        expect(result.taken).toBeGreaterThan(7000);
      });
    }
  }

  it('leaves time running backwards and past 2^53 ns, a cut record and an impossible one to the event path', () => {
    const all = packets(3000, (i) => 60 + (i % 900));
    all[1000].ns = START - 5_000_000_000n; // before the session start: a negative time
    all[1001].ns = START + 200n * 86_400n * 1_000_000_000n; // 200 days on: past 2^53 ns
    const bytes = pcapFile(all, { littleEndian: true, nanos: false, linkType: LinkType.ethernet });
    const cut = bothWays(saved('cut.pcap', bytes.subarray(0, bytes.length - 30)));
    expect(cut.warnings.join('\n')).toMatch(/file ends inside the packet record/);
    expect(cut.taken).toBeGreaterThan(2000);
    // The 2,000th record claims 300,000 captured bytes.
    const impossible = Buffer.from(bytes);
    let at = 24;
    for (let i = 0; i < 2000; i++) at += 16 + impossible.readUInt32LE(at + 8);
    impossible.writeUInt32LE(300_000, at + 8);
    expect(bothWays(saved('impossible.pcap', impossible)).warnings.join('\n')).toMatch(/claims 300000 captured bytes/);
  });

  it('carries a µs fraction past a second into the seconds, as the record reader does', () => {
    const bytes = pcapFile(packets(500, () => 80), { littleEndian: true, nanos: false, linkType: LinkType.ethernet });
    for (let i = 1, at = 24 + 96; i < 500; i += 7, at += 7 * 96) bytes.writeUInt32LE(1_000_000 + i * 3000, at + 4);
    expect(bothWays(saved('fractions.pcap', bytes)).taken).toBeGreaterThan(400);
  });

  it('reads direction from Linux cooked headers', () => {
    const sll = (i: number) => Buffer.concat([Buffer.from([0, i % 2 === 0 ? 4 : 0, 0, 1, 0, 6]), Buffer.alloc(10), Buffer.alloc(60, i)]);
    const all = Array.from({ length: 400 }, (_, i) => ({ ns: START + BigInt(i), data: sll(i) }));
    expect(bothWays(saved('sll.pcap', pcapFile(all, { littleEndian: true, nanos: true, linkType: LinkType.linuxSll }))).taken).toBeGreaterThan(300);
  });

  for (const littleEndian of [true, false]) {
    for (const tsresol of [6, 9]) {
      it(`makes the same session from a pcapng as the event path (${littleEndian ? 'little' : 'big'}-endian, ${tsresol === 9 ? 'ns' : 'µs'})`, () => {
        const all: CapturePacket[] = packets(8000, (i) => (i % 1499 === 0 ? 100_000 : i % 997 === 0 ? 70_000 : 40 + ((i * 131) % 1475)));
        // Some on a second interface, some with an interface that has if_tsoffset or ms units,
        // some with a direction in epb_flags (taken), some with a comment (left to the event path).
        all.forEach((p, i) => {
          if (i % 211 === 0) p.interface = 1;
          if (i % 307 === 0) p.interface = 2;
          if (i % 401 === 0) p.interface = 3;
          if (i % 103 === 0) p.direction = 2;
          if (i % 7 === 0) p.direction = 1;
          if (i % 11 === 0) p.flags = Buffer.from([[2, 0, 0, 0], [3, 0, 0, 0], [0, 0]][i % 3]);
          if (i % 509 === 0) p.comments = ['PID: 4'];
        });
        const interfaces = [
          { linkType: LinkType.ethernet, name: 'a', tsresol },
          { linkType: LinkType.linuxSll, name: 'b', tsresol: 15 - tsresol },
          { linkType: LinkType.ethernet, name: 'c', tsoffset: 3n },
          { linkType: LinkType.ethernet, name: 'd', tsresol: 3 },
        ];
        const bytes = pcapngFile(interfaces, all, { littleEndian, bareBlocks: tsresol === 6 });
        const result = bothWays(saved(`mixed-${littleEndian}-${tsresol}.pcapng`, bytes));
        expect(result.taken).toBeGreaterThan(7000);
      });
    }
  }

  it('leaves a pcapng time the session clock cannot hold, a cut block and an impossible one to the event path', () => {
    const all: CapturePacket[] = packets(3000, (i) => 60 + (i % 900));
    all[1000].ns = START - 5_000_000_000n; // before the session start: a negative time
    all[1001].ns = START + 200n * 86_400n * 1_000_000_000n; // 200 days on: past 2^53 ns
    const bytes = pcapngFile([{ linkType: LinkType.ethernet, name: 'a' }], all, { littleEndian: true, bareBlocks: true });
    // Packet 1,500 at year 4000: µs units hold it, a session's clock does not.
    let at = bytes.readUInt32LE(4) + bytes.readUInt32LE(bytes.readUInt32LE(4) + 4);
    for (let i = 0; i < 1500; i++) at += bytes.readUInt32LE(at + 4);
    const units = 64_060_588_800n * 1_000_000n;
    bytes.writeUInt32LE(Number(units >> 32n), at + 12);
    bytes.writeUInt32LE(Number(units & 0xffffffffn), at + 16);
    const far = bothWays(saved('far.pcapng', bytes));
    expect(far.warnings.join('\n')).toMatch(/beyond any capture clock/);
    expect(far.taken).toBeGreaterThan(2900);
    const cut = bothWays(saved('cut.pcapng', bytes.subarray(0, bytes.length - 30)));
    expect(cut.warnings.join('\n')).toMatch(/file ends inside the block/);
    const impossible = Buffer.from(bytes);
    impossible.writeUInt32LE(0x7fff_fff0, at + 4);
    expect(bothWays(saved('impossible.pcapng', impossible)).warnings.join('\n')).toMatch(/impossible length/);
  });

  it('leaves a pcapng time past the end of the session clock (2554) to the event path, however close to the start', () => {
    const end = 18_446_744_073n * 1_000_000_000n;
    const all: CapturePacket[] = packets(600, () => 80).map((p, i) => ({ ...p, ns: end - 5n * 86_400_000_000_000n + BigInt(i) * 1_000_000_000_000n }));
    const result = bothWays(saved('clock-end.pcapng', pcapngFile([{ linkType: LinkType.ethernet, name: 'a' }], all, { littleEndian: true, bareBlocks: true })));
    expect(result.warnings.join('\n')).toMatch(/beyond any capture clock/);
    expect(result.taken).toBeGreaterThan(400);
  });

  it('makes the same session from several captures merged in time: rotated, interleaved, with equal times across them', () => {
    const all = packets(6000, (i) => 60 + ((i * 37) % 1400));
    const pcap = (part: CapturePacket[]) => pcapFile(part, { littleEndian: true, nanos: true, linkType: LinkType.ethernet });
    const pcapng = (part: CapturePacket[]) => pcapngFile([{ linkType: LinkType.ethernet, name: 'a', tsresol: 9 }], part, { littleEndian: false, bareBlocks: true });
    const rotated = bothWays([saved('r0.pcap', pcap(all.slice(0, 2000))), saved('r1.pcapng', pcapng(all.slice(2000, 4000))), saved('r2.pcap', pcap(all.slice(4000)))]);
    expect(rotated.taken).toBeGreaterThan(5900);
    // Runs of five in each file, every time rounded to 4 µs: equal times within and across files.
    const rounded = all.map((p) => ({ ...p, ns: p.ns - (p.ns % 4000n) }));
    const a = saved('a.pcapng', pcapng(rounded.filter((_, i) => Math.floor(i / 5) % 2 === 0)));
    const b = saved('b.pcap', pcap(rounded.filter((_, i) => Math.floor(i / 5) % 2 === 1)));
    expect(bothWays([a, b]).taken).toBeGreaterThan(1000);
    expect(bothWays([b, a]).taken).toBeGreaterThan(1000);
  });

  it('takes nothing of a link type it must not: PKTAP names processes, an undissected one is counted', () => {
    for (const [name, linkType] of [['pktap', LinkType.pktap], ['undissected', 147]] as const) {
      const result = bothWays(saved(`${name}.pcap`, pcapFile(packets(300, () => 200), { littleEndian: true, nanos: true, linkType })));
      expect(result.taken).toBe(0);
    }
  });
});
