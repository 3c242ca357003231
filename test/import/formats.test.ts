import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../recorder/errors.js';
import { compressionNotRead, looksLikeCapture } from '../../recorder/import/formats.js';
import { importFiles } from '../../recorder/import/index.js';
import { ethernet, pcapFile, pcapngFile, udpPacket, type CapturePacket } from '../helpers/capture-writer.js';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';
import { epochOf, packetsOf, readSession } from '../helpers/session.js';
import { tsharkFields, tsharkFrames } from '../helpers/tshark.js';

const base = 1_700_000_000_123_456_789n;
const linkHeaders: Record<number, (p: Buffer, out: boolean) => Buffer> = {
  0: (p) => Buffer.concat([Buffer.from([2, 0, 0, 0]), p]), // BSD loopback, AF_INET in host order (LE)
  1: (p) => ethernet(p),
  101: (p) => p,
  113: (p, out) => Buffer.concat([Buffer.from([0, out ? 4 : 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 8, 0]), p]),
  276: (p, out) => Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 0, 1, 0, 1, out ? 4 : 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]), p]),
};

function importOne(name: string, bytes: Buffer) {
  const dir = scratch();
  const input = join(dir, name);
  writeFileSync(input, bytes);
  const out = join(dir, 'out.npsession');
  const result = importFiles([input], out);
  return { input, out, result, ...readSession(out) };
}

describe('classic pcap', () => {
  for (const littleEndian of [true, false])
    for (const nanos of [true, false])
      for (const linkType of [0, 1, 101, 113, 276]) {
        it(`${littleEndian ? 'LE' : 'BE'} ${nanos ? 'ns' : 'µs'} link type ${linkType} matches tshark`, () => {
          const packets: CapturePacket[] = Array.from({ length: 7 }, (_, i) => ({
            ns: base + BigInt(i) * 1_000_001_001n + (nanos ? 0n : 0n),
            data: linkHeaders[linkType](udpPacket(i), i % 2 === 1),
          }));
          const bytes = pcapFile(
            packets.map((p) => ({ ...p, ns: nanos ? p.ns : (p.ns / 1000n) * 1000n })),
            { littleEndian, nanos, linkType },
          );
          const { input, header, events } = importOne('capture.bin', bytes);
          const got = packetsOf(events);
          expect(got.map((p) => epochOf(header, p.t))).toEqual(tsharkFrames(input).map((f) => f.epoch));
          expect(got.map((p) => Buffer.from(p.data))).toEqual(packets.map((p) => p.data));
          const iface = events.find((e) => e.kind === 'interface');
          expect(iface).toMatchObject({ linkType, id: 0 });
          if (linkType === 113 || linkType === 276) expect(got.map((p) => p.direction)).toEqual([1, 2, 1, 2, 1, 2, 1]);
        });
      }

  it('reports a record cut short by the end of the file, keeps the packets before it, and counts a loss', () => {
    const packets = Array.from({ length: 5 }, (_, i) => ({ ns: base + BigInt(i) * 1000n, data: ethernet(udpPacket(i)) }));
    const whole = pcapFile(packets, { littleEndian: true, nanos: false, linkType: 1 });
    const { result, events } = importOne('cut.pcap', whole.subarray(0, whole.length - 10));
    expect(packetsOf(events)).toHaveLength(4);
    expect(result.warnings).toEqual([expect.stringMatching(/cut\.pcap: file ends inside the packet record at offset \d+/)]);
    expect(events.filter((e) => e.kind === 'loss')).toEqual([expect.objectContaining({ count: 1, source: expect.stringContaining('import:') })]);
  });
});

describe('pcapng', () => {
  for (const littleEndian of [true, false]) {
    it(`${littleEndian ? 'LE' : 'BE'}: several interfaces with their own resolution and offset, as tshark reads them`, () => {
      const interfaces = [
        { linkType: 1, name: 'en0' },
        { linkType: 101, name: 'utun3', tsresol: 9 },
        { linkType: 1, name: 'bridge0', tsresol: 0x80 | 20, tsoffset: 3600n },
      ];
      const packets: CapturePacket[] = Array.from({ length: 9 }, (_, i) => {
        const iface = i % 3;
        const ns = base + BigInt(i) * 7_654_321n;
        return { ns, interface: iface, data: iface === 1 ? udpPacket(i) : ethernet(udpPacket(i)), direction: i % 2 ? 2 : 1 };
      });
      const { input, header, events } = importOne('multi.ng', pcapngFile(interfaces, packets, { littleEndian }));
      const got = packetsOf(events);
      const frames = tsharkFields(input, ['frame.time_epoch', 'frame.interface_id', 'frame.len']);
      expect(got.map((p) => [epochOf(header, p.t), String(p.interfaceId), String(p.origLen)])).toEqual(frames);
      expect(events.filter((e) => e.kind === 'interface').map((e) => e.kind === 'interface' && [e.id, e.name, e.linkType])).toEqual([
        [0, 'en0', 1],
        [1, 'utun3', 101],
        [2, 'bridge0', 1],
      ]);
      expect(got.map((p) => p.direction)).toEqual(packets.map((p) => p.direction));
    });
  }

  it("keeps Apple process blocks: each packet names its process, announced before its first packet", () => {
    const processes = [{ pid: 501, name: 'curl' }, { pid: 77, name: 'mDNSResponder' }];
    const packets: CapturePacket[] = [
      { ns: base, data: ethernet(udpPacket(1)), processIndex: 1 },
      { ns: base + 10n, data: ethernet(udpPacket(2)) },
      { ns: base + 20n, data: ethernet(udpPacket(3)), processIndex: 0 },
      { ns: base + 30n, data: ethernet(udpPacket(4)), processIndex: 1 },
    ];
    const { events } = importOne('apple.pcapng', pcapngFile([{ linkType: 1, name: 'pktap' }], packets, { littleEndian: true, processes }));
    expect(events.map((e) => (e.kind === 'packet' ? `packet ${e.processKey}` : e.kind === 'process' ? `process ${e.key} ${e.pid} ${e.path}` : e.kind))).toEqual([
      'interface',
      'process 77~mDNSResponder 77 mDNSResponder',
      'packet 77~mDNSResponder',
      'packet null',
      'process 501~curl 501 curl',
      'packet 501~curl',
      'packet 77~mDNSResponder',
    ]);
  });

  it('turns interface drop statistics into loss events', () => {
    const packets = [{ ns: base, data: ethernet(udpPacket(1)) }];
    const { events } = importOne('drops.pcapng', pcapngFile([{ linkType: 1, name: 'eth0' }], packets, { littleEndian: true, drops: { interface: 0, count: 42n } }));
    expect(events.filter((e) => e.kind === 'loss')).toEqual([expect.objectContaining({ source: 'capture:eth0', count: 42 })]);
  });
});

describe('several inputs', () => {
  it('merge into one session in time order, with distinct interfaces and the earliest start', () => {
    const dir = scratch();
    const a = join(dir, 'a.pcap');
    const b = join(dir, 'b.pcapng');
    writeFileSync(a, pcapFile([0, 2, 4].map((i) => ({ ns: base + BigInt(i) * 1000n, data: ethernet(udpPacket(i)) })), { littleEndian: true, nanos: true, linkType: 1 }));
    writeFileSync(b, pcapngFile([{ linkType: 1, name: 'en0', tsresol: 9 }], [1, 3, 5].map((i) => ({ ns: base + BigInt(i) * 1000n - 2000n, data: ethernet(udpPacket(i)) })), { littleEndian: true }));
    const out = join(dir, 'merged.npsession');
    importFiles([a, b], out);
    const { header, events } = readSession(out);
    const packets = packetsOf(events);
    expect(header.startNs).toBe(base - 1000n);
    expect(packets.map((p) => p.t)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(packets.map((p) => p.interfaceId)).toEqual([1, 0, 1, 0, 1, 0]);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('refuse a file that is no capture, in one line naming it', () => {
    const dir = scratch();
    const text = join(dir, 'notes.pcap');
    writeFileSync(text, 'these are my notes\n');
    expect(() => importFiles([text], join(dir, 'x'))).toThrow(new InputError(`${text}: not a pcap, pcapng, eslogger JSON or gzip of one (input kinds are detected from content)`));
  });
});

describe('telling a capture from its first bytes (formats.ts)', () => {
  const eslogger = readFileSync(join(repoRoot, 'test/data/eslogger-sample.jsonl'));
  it('knows pcap in both byte orders, pcapng, gzip and eslogger JSON', () => {
    for (const littleEndian of [true, false]) expect(looksLikeCapture(pcapFile([], { littleEndian, nanos: false, linkType: 101 }))).toBe(true);
    for (const littleEndian of [true, false]) expect(looksLikeCapture(pcapngFile([{ linkType: 101, name: 'eth0' }], [], { littleEndian }))).toBe(true);
    expect(looksLikeCapture(gzipSync(Buffer.from('anything')))).toBe(true);
    expect(looksLikeCapture(eslogger)).toBe(true);
  });
  it('names a compression it does not read, and the command that undoes it', () => {
    const heads: [string, number[]][] = [
      ['zstd', [0x28, 0xb5, 0x2f, 0xfd, 0x24]],
      ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00]],
      ['bzip2', [0x42, 0x5a, 0x68, 0x39, 0x31]],
      ['lz4', [0x04, 0x22, 0x4d, 0x18]],
      ['zip', [0x50, 0x4b, 0x03, 0x04, 0x14]],
      ['7-Zip', [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00]],
    ];
    for (const [name, head] of heads) expect(compressionNotRead(Buffer.from(head))).toMatch(new RegExp(`^${name}-compressed, and netprov inflates gzip only: decompress it first \\(`));
    expect(compressionNotRead(Buffer.from('BZh is how this note starts'))).toBeNull();
    expect(compressionNotRead(gzipSync(Buffer.from('x')))).toBeNull();
    expect(compressionNotRead(Buffer.alloc(0))).toBeNull();
    const dir = scratch();
    const zst = join(dir, 'capture.pcap.zst');
    writeFileSync(zst, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x00, 0x01]));
    expect(() => importFiles([zst], join(dir, 'x'))).toThrow(new InputError(`${zst}: zstd-compressed, and netprov inflates gzip only: decompress it first (zstd -d)`));
    const run = netprov(['analyze', zst]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`netprov: ${zst}: zstd-compressed, and netprov inflates gzip only: decompress it first (zstd -d)\n`);
  });
  it('says so when a session is given where a capture goes, a gzipped session, or a capture where a session goes', () => {
    const dir = scratch();
    const session = join(repoRoot, 'fixtures/http-get.npsession');
    const gzipped = join(dir, 'http-get.npsession.gz');
    writeFileSync(gzipped, gzipSync(readFileSync(session)));
    const capture = join(dir, 'one.pcap');
    writeFileSync(capture, pcapFile([{ ns: 1_700_000_000_000_000_000n, data: ethernet(udpPacket(1)) }], { littleEndian: true, nanos: false, linkType: 1 }));
    const zst = join(dir, 'http-get.npsession.zst');
    writeFileSync(zst, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x00, 0x01]));
    const cases: [string[], string][] = [
      [['import', session, '-o', join(dir, 'a')], `${session}: a netprov session, not a capture: analyze, flows, inspect and replay take it as it is`],
      [['analyze', gzipped], `${gzipped}: a gzip-compressed netprov session, and netprov reads sessions uncompressed: gunzip it first`],
      [['import', gzipped, '-o', join(dir, 'b')], `${gzipped}: a gzip-compressed netprov session, and netprov reads sessions uncompressed: gunzip it first`],
      [['inspect', gzipped], `${gzipped}: not a netprov session (no session signature at offset 0; it is gzip-compressed, and netprov reads sessions uncompressed: decompress it first (gunzip))`],
      [['replay', zst], `${zst}: not a netprov session (no session signature at offset 0; it is zstd-compressed, and netprov reads sessions uncompressed: decompress it first (zstd -d))`],
      [['inspect', capture], `${capture}: not a netprov session (no session signature at offset 0; it is a capture: netprov import makes a session of it, and analyze takes it as it is)`],
    ];
    for (const [args, message] of cases) {
      const run = netprov(args);
      expect(run.status, args.join(' ')).toBe(1);
      expect(run.stderr).toBe(`netprov: ${message}\n`);
    }
  });
  it('takes no session file, text or empty file for one', () => {
    expect(looksLikeCapture(readFileSync(join(repoRoot, 'fixtures/http-get.npsession')))).toBe(false);
    expect(looksLikeCapture(Buffer.from('{"not": "an ES message"}\n'))).toBe(false);
    expect(looksLikeCapture(Buffer.alloc(0))).toBe(false);
  });
});
