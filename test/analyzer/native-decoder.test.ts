/**
 * The native decoder (analyzer/native) against the TypeScript decoder it speeds up: every message
 * the decoding thread would send — each batch's columns, content sightings, DNS rows, tunnels,
 * events, the read report — must be the same with it and without it, on every pcap and pcapng
 * trace of the oracle and on damaged copies of them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSession, type DecodeMessage } from '../../analyzer/load/decode.js';
import { nativeDecoder } from '../../analyzer/native/pcap-decoder.js';
import { CaptureStream } from '../../recorder/import/captures.js';
import { MemorySink } from '../../recorder/session/sink.js';
import { SessionWriter } from '../../recorder/session/writer.js';
import { writeTrafficPcap } from '../bench/traffic.js';
import { pcapFile, pcapngFile, pcapPackets } from '../helpers/capture-writer.js';
import { tcpFrame, udpFrame } from '../helpers/frames.js';
import { corpusTraces, oraclePcaps, repoRoot, scratch } from '../helpers/paths.js';

/**
 * Every message of a decode, with what only progress bars read (times, bytes read so far) left
 * out, and the count of packets the native decoder took set aside.
 */
async function decode(input: string | string[], native: boolean, { save, verifyChecksums = false }: { save?: string; verifyChecksums?: boolean } = {}): Promise<unknown[]> {
  const files = typeof input === 'string' ? [input] : input;
  const file = files.join(' + ');
  const messages: unknown[] = [];
  await decodeSession({ kind: 'captures', files, ...(save ? { save: { temporary: save, name: save } } : {}) }, { salvage: false, verifyChecksums, native }, () => undefined, (m: DecodeMessage) => {
    if (m.type === 'header') messages.push({ type: m.type, header: m.header });
    else if (m.type === 'batch') {
      const { count, rows, track, bytesRead: _read, bytesTotal: _total, ...rest } = m.batch;
      const columns = (set: Record<string, ArrayLike<unknown>>) =>
        Object.fromEntries(Object.entries(set).map(([name, array]) => [name, Array.from(array).slice(0, count)]));
      messages.push({ type: m.type, count, rows: columns(rows), track: columns(track), ...rest });
    } else if (m.type === 'error') messages.push({ type: m.type, input: m.input, message: m.message });
    else {
      const { nativePackets, ...rest } = m;
      taken.set(file, nativePackets);
      messages.push(rest);
    }
  });
  return messages;
}
/** Packets the native decoder took in the last decode of each file. */
const taken = new Map<string, number>();

/** The session the event path writes for `files` (pcap-to-session.test.ts holds import's copy to the same bytes). */
function sessionOf(files: string[]): Buffer {
  const captures = new CaptureStream(files);
  const sink = new MemorySink();
  const writer = new SessionWriter(sink, captures.header);
  captures.forEach((event) => writer.append(event));
  writer.close();
  captures.close();
  return sink.bytes();
}

describe('the native pcap decoder, in C', () => {
  it('reads nothing outside its window and writes nothing past its columns (AddressSanitizer, UBSan)', () => {
    const source = join(repoRoot, 'analyzer/native');
    const binary = join(scratch(), 'decode_check');
    const build = spawnSync('gcc', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-g', '-O1', '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
      `-I${source}/src`, `${source}/src/np_pcap_decode.c`, `${source}/test/decode_check.c`, '-o', binary], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const run = spawnSync(binary, ['100000'], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('100000 windows decoded\n');
  });
});

describe.runIf(nativeDecoder)('the native pcap decoder', () => {
  let traffic: string;

  beforeAll(() => {
    traffic = join(scratch(), 'traffic.pcap');
    writeTrafficPcap(traffic, { packets: 40_000, concurrentFlows: 2_000 });
  });

  it('decodes the benchmark workload as the TypeScript decoder does, all of it natively but the records across windows', async () => {
    const natively = await decode(traffic, true);
    // DNS messages too: their packets are plain, their messages read from the window after the run.
    expect(taken.get(traffic)).toBeGreaterThan(40_000 - 10);
    expect(natively.some((m) => (m as { dns?: { packet: number[] } }).dns?.packet.length)).toBe(true);
    expect(natively).toEqual(await decode(traffic, false));
    expect(taken.get(traffic)).toBe(0);
  });

  it('decodes the benchmark workload as a pcapng as the TypeScript decoder does, all of it natively but the blocks across windows', async () => {
    const file = join(scratch(), 'traffic.pcapng');
    writeFileSync(file, asPcapng(readFileSync(traffic), { littleEndian: true }));
    const natively = await decode(file, true);
    expect(taken.get(file)).toBeGreaterThan(40_000 - 10);
    expect(natively).toEqual(await decode(file, false));
  });

  it('decodes several captures merged in time as the TypeScript decoder does: rotated files natively, whole; interleaved ones up to each other', async () => {
    const { linkType, packets } = pcapPackets(readFileSync(traffic));
    const dir = scratch();
    const write = (name: string, part: typeof packets, pcapng = false) => {
      const file = join(dir, name);
      writeFileSync(file, pcapng ? pcapngFile([{ linkType, name }], part, { littleEndian: true, bareBlocks: true }) : pcapFile(part, { littleEndian: true, nanos: false, linkType }));
      return file;
    };
    // As tcpdump -C rotates: one after another in time (a pcapng among them).
    const third = Math.floor(packets.length / 3);
    const rotated = [write('r0.pcap', packets.slice(0, third)), write('r1.pcapng', packets.slice(third, 2 * third), true), write('r2.pcap', packets.slice(2 * third))];
    const natively = await decode(rotated, true);
    // All but the records across windows: each file's small first one, then 4 MiB ones (cursor.ts).
    expect(taken.get(rotated.join(' + '))).toBeGreaterThan(packets.length - 20);
    expect(natively).toEqual(await decode(rotated, false));
    // Two sensors at once: every packet in one or the other, times interleaved, some equal
    // across the files (the one named first goes first), runs of a few packets in each.
    const runs = packets.map((p, i) => ({ ...p, ns: p.ns - (p.ns % 50_000n) })).map((p, i) => ({ p, side: Math.floor(i / 7) % 2 }));
    const interleaved = [write('a.pcap', runs.filter((r) => r.side === 0).map((r) => r.p)), write('b.pcapng', runs.filter((r) => r.side === 1).map((r) => r.p), true)];
    for (const files of [interleaved, [...interleaved].reverse()]) {
      const merged = await decode(files, true);
      expect(taken.get(files.join(' + '))).toBeGreaterThan(packets.length / 4);
      expect(merged).toEqual(await decode(files, false));
    }
  });

  it('decodes as the TypeScript decoder does while it saves the session (--save), the bytes import writes', async () => {
    const { linkType, packets } = pcapPackets(readFileSync(traffic));
    const dir = scratch();
    const half = join(dir, 'half.pcapng');
    writeFileSync(half, pcapngFile([{ linkType, name: 'eth0', tsresol: 9 }], packets.slice(20_000), { littleEndian: false, bareBlocks: true }));
    const first = join(dir, 'first.pcap');
    writeFileSync(first, pcapFile(packets.slice(0, 20_000), { littleEndian: true, nanos: false, linkType }));
    // Records the native decoder leaves (tunnels, fragments, edge frames) among those it takes.
    const edges = join(dir, 'edges.pcap');
    writeFileSync(edges, pcapFile(edgeFrames().flatMap((data, i) => [plain(i), data, data]).map((data, i) => ({ ns: 1_700_000_000_000_000_000n + BigInt(i) * 1000n, data })), { littleEndian: true, nanos: true, linkType: 1 }));
    for (const files of [[traffic], [first, half], [edges]]) {
      const saved = join(dir, 'saved.npsession');
      rmSync(saved, { force: true });
      const natively = await decode(files, true, { save: saved });
      if (files[0] !== edges) expect(taken.get(files.join(' + '))).toBeGreaterThan(packets.length - 10);
      expect(natively).toEqual(await decode(files, false));
      expect(readFileSync(saved).equals(sessionOf(files)), files.join(' + ')).toBe(true);
      rmSync(saved);
      await decode(files, false, { save: saved });
      expect(readFileSync(saved).equals(sessionOf(files))).toBe(true);
    }
  });

  it.each([...oraclePcaps(), ...corpusTraces()].filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f)).map((f) => [f.split('/').at(-1)!, f]))(
    'decodes %s as the TypeScript decoder does, with --verify-checksums too',
    async (_name, file) => {
      expect(await decode(file, true)).toEqual(await decode(file, false));
      expect(await decode(file, true, { verifyChecksums: true })).toEqual(await decode(file, false, { verifyChecksums: true }));
    },
  );

  it('verifies checksums as the TypeScript decoder does (--verify-checksums): right, wrong, none, not captured whole', async () => {
    // Each edge frame with its transport checksum right, as written (0: wrong for TCP, none for
    // UDP over IPv4), off by one, and with the IPv4 header's wrong; then the same with the IPv4
    // header's made right after the edge frames' edits (a total length of 0, options, ...).
    const frames = edgeFrames().flatMap((frame) =>
      [frame, withHeaderChecksum(frame)].flatMap((f) => [withTransportChecksum(f), f, withTransportChecksum(f, 1), edit(f, (b) => (b[24] ^= 0x10))]),
    );
    const file = join(scratch(), 'checksums.pcap');
    writeFileSync(file, pcapFile(frames.flatMap((data, i) => [plain(i), data]).map((data, i) => ({ ns: 1_700_000_000_000_000_000n + BigInt(i) * 1000n, data })), { littleEndian: true, nanos: true, linkType: 1 }));
    const natively = await decode(file, true, { verifyChecksums: true });
    expect(taken.get(file)).toBeGreaterThan(frames.length / 2);
    const typescript = await decode(file, false, { verifyChecksums: true });
    expect(natively).toEqual(typescript);
    const marked = typescript.flatMap((m) => ((m as { track?: { badChecksum: number[] } }).track?.badChecksum ?? []));
    expect(marked.filter((bad) => bad === 1).length).toBeGreaterThan(50);
    expect(marked.filter((bad) => bad === 0).length).toBeGreaterThan(50);
    const workload = await decode(traffic, true, { verifyChecksums: true });
    expect(taken.get(traffic)).toBeGreaterThan(40_000 - 10);
    expect(workload).toEqual(await decode(traffic, false, { verifyChecksums: true }));
  });

  it.each(Object.keys(LINKS))('decodes every kind of %s frame it takes or leaves as the TypeScript decoder does', async (link) => {
    const { linkType, frame } = LINKS[link];
    const frames = edgeFrames().map((ethernet, i) => frame(ethernet, i));
    const dir = scratch();
    for (const littleEndian of [true, false]) {
      for (const nanos of [true, false]) {
        const file = join(dir, `edges-${linkType}-${littleEndian}-${nanos}.pcap`);
        // Each frame twice, after a plain one: the native decoder stops at some, starts again after
        // (or, after two refusals in a row, leaves a few records to the TypeScript decoder).
        const packets = frames.flatMap((data, i) => [frame(plain(i), 1), data, data].map((d, j) => ({ ns: 1_700_000_000_123_456_000n + BigInt(i * 3 + j) * 1_000_001_000n, data: d, origLen: d.length + (j % 2) * 100 })));
        writeFileSync(file, pcapFile(packets, { littleEndian, nanos, linkType }));
        const natively = await decode(file, true);
        expect(taken.get(file)).toBeGreaterThan(frames.length / 2);
        expect(natively, file).toEqual(await decode(file, false));
      }
    }
  });

  it.each(Object.keys(LINKS))('decodes every kind of %s frame in a pcapng as the TypeScript decoder does, whatever its interface and options', async (link) => {
    const { linkType, frame } = LINKS[link];
    const frames = edgeFrames().map((ethernet, i) => frame(ethernet, i));
    const dir = scratch();
    for (const littleEndian of [true, false]) {
      // µs and ns units are read natively; ms units, and an interface with if_tsoffset, are not.
      for (const tsresol of [6, 9, 3]) {
        const interfaces = [{ linkType, name: 'a', tsresol }, { linkType: 1, name: 'b', tsresol: 9 }, { linkType, name: 'c', tsoffset: 5n }];
        const at = (i: number) => 1_700_000_000_123_456_000n + BigInt(i) * 1_000_001_000n;
        // Each frame twice after a plain one; every third on another interface (another link type
        // and units, or an offset); some with options: a direction, epb_flags that say none (bits
        // 3), are too short, or say another direction after it, a comment.
        const flags = [undefined, undefined, Buffer.from([3, 0, 0, 0]), Buffer.from([1, 0]), Buffer.from([2, 0, 0, 0])];
        const packets = frames.flatMap((data, i) => [
          { ns: at(4 * i), data: frame(plain(i), 1) },
          { ns: at(4 * i + 1), data, origLen: data.length + 100, ...(i % 4 === 1 ? { direction: 2 as const } : {}), ...(i % 3 === 0 ? { direction: 1 as const } : {}), flags: flags[i % 5] },
          { ns: at(4 * i + 2), data, interface: i % 3, ...(i % 4 === 3 ? { comments: ['seen'] } : {}) },
          { ns: at(4 * i + 3), data: plain(i), interface: 1 },
        ]);
        for (const bareBlocks of [true, false]) {
          const file = join(dir, `edges-${linkType}-${littleEndian}-${tsresol}-${bareBlocks}.pcapng`);
          writeFileSync(file, pcapngFile(interfaces, packets, { littleEndian, bareBlocks }));
          const natively = await decode(file, true);
          expect(taken.get(file)).toBeGreaterThan(tsresol === 3 ? frames.length / 2 : frames.length);
          expect(natively, file).toEqual(await decode(file, false));
        }
      }
    }
  });

  it('leaves a pcapng time past the end of the session clock (2554) to the TypeScript decoder', async () => {
    const end = 18_446_744_073n * 1_000_000_000n;
    const packets = Array.from({ length: 300 }, (_, i) => ({ ns: end - 5n * 86_400_000_000_000n + BigInt(i) * 4_000_000_000_000n, data: plain(i) }));
    const file = join(scratch(), 'clock-end.pcapng');
    writeFileSync(file, pcapngFile([{ linkType: 1, name: 'a' }], packets, { littleEndian: true, bareBlocks: true }));
    const natively = await decode(file, true);
    expect(taken.get(file)).toBeGreaterThan(100);
    expect(natively).toEqual(await decode(file, false));
  });

  it('normalises microseconds past a million into the next seconds, as the TypeScript decoder does', async () => {
    const frames = edgeFrames();
    const file = join(scratch(), 'edges-overflowing-usec.pcap');
    const bytes = pcapFile(frames.map((data, i) => ({ ns: 1_700_000_000_000_000_000n + BigInt(i) * 1000n, data })), { littleEndian: true, nanos: false, linkType: 1 });
    for (let at = 24; at < bytes.length; at += 16 + bytes.readUInt32LE(at + 8)) bytes.writeUInt32LE(bytes.readUInt32LE(at + 4) + 3_500_000, at + 4);
    writeFileSync(file, bytes);
    expect(await decode(file, true)).toEqual(await decode(file, false));
  });

  it.each(['pcap', 'pcapng'])('decodes damaged captures as the TypeScript decoder does: a %s cut short, and with bytes changed', async (kind) => {
    const pcap = readFileSync(traffic).subarray(0, 400_000);
    const whole = kind === 'pcap' ? pcap : asPcapng(pcap, { littleEndian: false });
    // Past the file header: a pcap's 24 bytes, a pcapng's section and interface blocks.
    const head = kind === 'pcap' ? 24 : whole.readUInt32BE(4) + whole.readUInt32BE(whole.readUInt32BE(4) + 4);
    const dir = scratch();
    let seed = 20261128;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let n = 0; n < 60; n++) {
      const bytes = Buffer.from(whole.subarray(0, head + Math.floor(random() * (whole.length - head))));
      // Changed bytes anywhere past the file header: record lengths, link, IP and transport headers.
      for (let k = Math.floor(random() * 40); k > 0; k--) bytes[head + Math.floor(random() * (bytes.length - head))] = Math.floor(random() * 256);
      const file = join(dir, `damaged-${n}.${kind}`);
      writeFileSync(file, bytes);
      expect(await decode(file, true), file).toEqual(await decode(file, false));
    }
  });
});

const edit = (frame: Buffer, change: (b: Buffer) => void) => {
  const copy = Buffer.from(frame);
  change(copy);
  return copy;
};

/** An Ethernet frame with its IPv4 header checksum set right; any other frame as it is. */
function withHeaderChecksum(frame: Buffer): Buffer {
  if (frame.length < 34 || frame.readUInt16BE(12) !== 0x0800 || frame[14] >> 4 !== 4) return frame;
  const end = 14 + Math.max(20, (frame[14] & 0x0f) * 4);
  if (end > frame.length) return frame;
  const copy = edit(frame, (b) => b.writeUInt16BE(0, 24));
  let sum = 0;
  for (let i = 14; i < end; i += 2) sum += (copy[i] << 8) | copy[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  copy.writeUInt16BE(~sum & 0xffff, 24);
  return copy;
}

/** An Ethernet frame with its IPv4 TCP or UDP checksum set right (plus `off`), as far as it was captured; any other frame as it is. */
function withTransportChecksum(frame: Buffer, off = 0): Buffer {
  if (frame.length < 34 || frame.readUInt16BE(12) !== 0x0800 || frame[14] >> 4 !== 4) return frame;
  const ihl = (frame[14] & 0x0f) * 4;
  const protocol = frame[23];
  const at = 14 + ihl;
  const length = frame.readUInt16BE(16) - ihl;
  const field = protocol === 6 ? at + 16 : protocol === 17 ? at + 6 : -1;
  if (field < 0 || length < 0 || at + length > frame.length || field + 2 > at + length) return frame;
  const copy = Buffer.from(frame);
  copy.writeUInt16BE(0, field);
  let sum = protocol + length;
  const add = (from: number, to: number) => {
    for (let i = from; i < to; i += 2) sum += (copy[i] << 8) | (i + 1 < to ? copy[i + 1] : 0);
  };
  add(26, 34);
  add(at, at + length);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  copy.writeUInt16BE(((~sum & 0xffff) + off) & 0xffff || (protocol === 17 ? 0xffff : 0), field);
  return copy;
}

/** A little-endian µs pcap rewritten as a pcapng of one interface, each packet an enhanced packet block without options. */
function asPcapng(pcap: Buffer, { littleEndian }: { littleEndian: boolean }): Buffer {
  const { linkType, packets } = pcapPackets(pcap);
  return pcapngFile([{ linkType, name: 'eth0' }], packets, { littleEndian, bareBlocks: true });
}

/** Each link type the native decoder reads, and an Ethernet frame as that link carries it (the bytes after the Ethernet header, whatever they are). */
const LINKS: Record<string, { linkType: number; frame: (ethernet: Buffer, i: number) => Buffer }> = {
  Ethernet: { linkType: 1, frame: (ethernet) => ethernet },
  'Linux SLL': {
    linkType: 113,
    // Packet type 0 (to us), 4 (outgoing) or 0x104 (nonsense), ARPHRD_ETHER, a 6-byte address, the Ethernet type.
    frame: (ethernet, i) => Buffer.concat([Buffer.from([i % 3 === 2 ? 1 : 0, i % 2 ? 4 : 0, 0, 1, 0, 6]), ethernet.subarray(6, 12), Buffer.alloc(2), ethernet.subarray(12)]),
  },
  'Linux SLL2': {
    linkType: 276,
    frame: (ethernet, i) => Buffer.concat([ethernet.subarray(12, 14), Buffer.from([0, 0, 0, 0, 0, 2, 0, 1, i % 2 ? 4 : 0, 6]), ethernet.subarray(6, 12), Buffer.alloc(2), ethernet.subarray(14)]),
  },
  'raw IP': { linkType: 101, frame: (ethernet) => ethernet.subarray(14) },
  'raw IPv4': { linkType: 228, frame: (ethernet) => ethernet.subarray(14) },
  'raw IPv6': { linkType: 229, frame: (ethernet) => ethernet.subarray(14) },
  'BSD loopback': {
    linkType: 0,
    // The address family in the host's byte order: AF_INET, or one of AF_INET6's numbers (BSD 24, FreeBSD 28, macOS 30).
    frame: (ethernet, i) => Buffer.concat([Buffer.from([ethernet[12] === 0x86 ? [24, 28, 30][i % 3] : i % 5 ? 2 : 7, 0, 0, 0]), ethernet.subarray(14)]),
  },
  'OpenBSD loopback': { linkType: 108, frame: (ethernet) => Buffer.concat([Buffer.from([0, 0, 0, ethernet[12] === 0x86 ? 24 : 2]), ethernet.subarray(14)]) },
};

const plain = (i: number) => tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000 + i, dport: 443, seq: i, ack: 1, flags: 0x18, payload: 100 });

/** Frames at every rule of np_pcap_decode.c's plain case, and just past it. */
function edgeFrames(): Buffer[] {
  const tcp = (payload: number | Buffer = 0, dport = 80, flags = 0x18) => tcpFrame({ src: '192.168.1.10', dst: '93.184.216.34', sport: 51000, dport, seq: 1000, ack: 2000, flags, payload });
  const udp = (dport: number, payload: Buffer, sport = 40001) => udpFrame('192.168.1.10', '192.168.1.20', sport, dport, payload);
  const vlan = (frame: Buffer, tags: number[]) =>
    Buffer.concat([frame.subarray(0, 12), ...tags.map((type, n) => Buffer.from([type >> 8, type & 0xff, 0, 10 + n])), frame.subarray(12)]);
  const ipv6 = (next: number, l4: Buffer, src = '20010db8000000000000000000000001') => {
    const header = Buffer.alloc(40);
    header[0] = 0x60;
    header.writeUInt16BE(l4.length, 4);
    header[6] = next;
    header[7] = 64;
    header.write(src, 8, 'hex');
    header.write('20010db8000000000000000000000002', 24, 'hex');
    return Buffer.concat([Buffer.from('02000000000202000000000186dd', 'hex'), header, l4]);
  };
  const l4Of = (frame: Buffer) => frame.subarray(34);
  const http = Buffer.from('GET /index.html HTTP/1.1\r\nHost: Example.COM\r\n\r\n');
  const clientHello = Buffer.from('16030100a5010000a10303', 'hex');
  const teredoInner = Buffer.concat([Buffer.from('6000000000003b40', 'hex'), Buffer.from('20010000' + '00'.repeat(12), 'hex'), Buffer.alloc(16)]);
  return [
    tcp(0, 443, 0x02), // SYN
    tcp(1200), // data
    tcp(http), // an HTTP request: a content sighting
    tcp(http).subarray(0, 54 + 34), // the same cut short in its Host header: what was captured, no more
    tcp(clientHello, 443), // the start of a ClientHello, waiting for more
    tcp(2, 443), // two payload bytes: no application head
    tcp(0, 53), // DNS port without payload: plain
    tcp(40, 53), // DNS over TCP: plain, its message read after the run
    edit(tcp(10), (b) => b.writeUInt16BE(0, 16)), // total length 0 (TCP segmentation offload)
    edit(tcp(10), (b) => (b[46] = 4 << 4)), // TCP header length 16
    edit(tcp(10), (b) => (b[46] = 15 << 4)), // TCP header longer than the segment
    tcp(1400).subarray(0, 60), // cut short by the snap length, inside the payload
    tcp(1400).subarray(0, 40), // cut short inside the TCP header
    edit(tcp(10), (b) => b.writeUInt16BE(10, 16)), // total length shorter than the IP header
    edit(tcp(10), (b) => b.writeUInt16BE(0x2000, 20)), // more fragments
    edit(tcp(10), (b) => b.writeUInt16BE(0x0001, 20)), // a later fragment
    edit(tcp(10), (b) => b.writeUInt16BE(0x4000, 20)), // don't fragment: plain
    edit(tcp(10), (b) => (b[14] = 0x46)), // IPv4 options (and a TCP header read 4 bytes late)
    edit(tcp(10), (b) => (b[14] = 0x44)), // IPv4 header length 16
    edit(tcp(10), (b) => (b[14] = 0x65)), // version 6 in an IPv4 ethertype
    edit(tcp(10), (b) => (b[23] = 47)), // GRE
    edit(tcp(10), (b) => (b[23] = 4)), // IP in IP
    edit(tcp(10), (b) => (b[23] = 132)), // SCTP
    edit(tcp(10), (b) => (b[23] = 2)), // IGMP
    edit(tcp(10), (b) => (b[23] = 1)), // ICMP echo reply (type 0 from the port bytes)
    edit(tcp(10), (b) => (b[23] = 58)), // ICMPv6's number in IPv4
    udp(5000, Buffer.alloc(30, 7)), // UDP
    udp(5000, Buffer.alloc(0)), // no payload
    udp(53, Buffer.alloc(30)), // DNS: plain, its message read after the run
    udp(5000, Buffer.alloc(30), 5353), // mDNS from its port
    udp(4789, Buffer.alloc(30, 8)), // VXLAN
    udp(6081, Buffer.alloc(30)), // Geneve
    udp(2152, Buffer.alloc(30)), // GTP-U
    udp(5072, Buffer.alloc(30)), // AYIYA
    udp(4754, Buffer.alloc(30)), // GRE in UDP
    udp(3544, teredoInner), // Teredo on its port
    udp(9999, teredoInner), // Teredo elsewhere, known by its prefix
    udp(9999, Buffer.concat([teredoInner, Buffer.alloc(1)])), // not Teredo: the inner length does not fill the datagram
    udp(123, Buffer.from('1b' + '00'.repeat(47), 'hex')), // NTP
    edit(udp(5000, Buffer.alloc(30)), (b) => b.writeUInt16BE(5, 38)), // UDP length field short
    udp(5000, Buffer.alloc(30)).subarray(0, 38), // cut short inside the UDP header
    vlan(tcp(100), [0x8100]), // one VLAN tag
    vlan(tcp(100), [0x88a8, 0x8100]), // QinQ
    vlan(tcp(100), [0x9100, 0x8100, 0x8100]), // three tags: the TypeScript decoder's
    vlan(tcp(100), [0x8100]).subarray(0, 16), // cut short inside the tag
    Buffer.from('ffffffffffff02000000000108060001080006040001', 'hex'), // ARP
    Buffer.from('0200000000020200000000010800', 'hex'), // Ethernet header only
    Buffer.from('020000000002', 'hex'), // not even that
    ipv6(6, l4Of(tcp(300))), // IPv6 TCP
    ipv6(17, l4Of(udp(5000, Buffer.alloc(20, 3)))), // IPv6 UDP
    ipv6(58, Buffer.from('8000000000010001', 'hex')), // ICMPv6 echo request
    ipv6(1, Buffer.from('0800000000010001', 'hex')), // ICMP's number in IPv6
    ipv6(0, Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, 0]), l4Of(tcp(10))])), // hop-by-hop header
    ipv6(44, Buffer.concat([Buffer.from('0600000100000001', 'hex'), l4Of(tcp(10))])), // fragment header
    ipv6(41, l4Of(tcp(10))), // IPv6 in IPv6
    ipv6(6, l4Of(tcp(300))).subarray(0, 40), // cut short inside the IPv6 header
    edit(ipv6(6, l4Of(tcp(300))), (b) => (b[14] = 0x40)), // version 4 in an IPv6 ethertype
    edit(ipv6(6, l4Of(tcp(300))), (b) => b.writeUInt16BE(0, 18)), // payload length 0
  ];
}
