/**
 * Writes small pcap and pcapng files for importer tests, in either byte order, with the options
 * the importer must honour. tshark then reads each file independently, so a test never trusts
 * this writer and the importer to agree by accident.
 */
import { gzipSync } from 'node:zlib';

export interface CapturePacket {
  /** Absolute time in ns since the epoch. */
  ns: bigint;
  data: Buffer;
  origLen?: number;
  interface?: number;
  /** EPB flags direction: 1 in, 2 out. */
  direction?: 1 | 2;
  /** An epb_flags option of these bytes (any value, any length), after `direction`'s. */
  flags?: Buffer;
  /** Apple EPB option 0x8001: index of a process block. */
  processIndex?: number;
  /** pcapng: write a Simple Packet Block (interface 0, no timestamp) instead of an EPB. */
  simple?: boolean;
  /** pcapng EPB opt_comment options (ptcpdump writes the process there). */
  comments?: string[];
  /** pcapng EPB option 8, epb_processid_threadid. */
  pidTid?: [number, number];
}

class Bytes {
  parts: Buffer[] = [];
  constructor(readonly littleEndian: boolean) {}
  u8(v: number) { this.parts.push(Buffer.from([v])); return this; }
  u16(v: number) { const b = Buffer.alloc(2); this.littleEndian ? b.writeUInt16LE(v) : b.writeUInt16BE(v); this.parts.push(b); return this; }
  u32(v: number) { const b = Buffer.alloc(4); this.littleEndian ? b.writeUInt32LE(v) : b.writeUInt32BE(v); this.parts.push(b); return this; }
  i64(v: bigint) { const b = Buffer.alloc(8); this.littleEndian ? b.writeBigInt64LE(v) : b.writeBigInt64BE(v); this.parts.push(b); return this; }
  raw(b: Buffer) { this.parts.push(b); return this; }
  pad() { const n = this.length % 4; if (n) this.parts.push(Buffer.alloc(4 - n)); return this; }
  get length() { return this.parts.reduce((s, p) => s + p.length, 0); }
  bytes() { return Buffer.concat(this.parts); }
}

/** The whole records of a little-endian µs pcap (as pcapFile and the benchmark's traffic.ts write them), and its link type. */
export function pcapPackets(pcap: Buffer): { linkType: number; packets: CapturePacket[] } {
  const packets: CapturePacket[] = [];
  for (let at = 24; at + 16 <= pcap.length; ) {
    const capLen = pcap.readUInt32LE(at + 8);
    if (at + 16 + capLen > pcap.length) break;
    const ns = BigInt(pcap.readUInt32LE(at)) * 1_000_000_000n + BigInt(pcap.readUInt32LE(at + 4)) * 1000n;
    packets.push({ ns, data: pcap.subarray(at + 16, at + 16 + capLen), origLen: pcap.readUInt32LE(at + 12) });
    at += 16 + capLen;
  }
  return { linkType: pcap.readUInt32LE(20), packets };
}

export function pcapFile(packets: CapturePacket[], opts: { littleEndian: boolean; nanos: boolean; linkType: number }): Buffer {
  const w = new Bytes(opts.littleEndian);
  w.u32(opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(opts.linkType);
  for (const p of packets) {
    const sec = p.ns / 1_000_000_000n;
    const frac = p.ns % 1_000_000_000n;
    w.u32(Number(sec)).u32(Number(opts.nanos ? frac : frac / 1000n)).u32(p.data.length).u32(p.origLen ?? p.data.length).raw(p.data);
  }
  return w.bytes();
}

function option(w: Bytes, code: number, value: Buffer) {
  w.u16(code).u16(value.length).raw(value).pad();
}

function block(littleEndian: boolean, type: number, body: Bytes): Buffer {
  const content = body.pad().bytes();
  return new Bytes(littleEndian).u32(type).u32(content.length + 12).raw(content).u32(content.length + 12).bytes();
}

export interface PcapngInterface {
  linkType: number;
  name: string;
  /** if_tsresol byte: 6 = µs (default), 9 = ns, 0x80|n = 2^-n. */
  tsresol?: number;
  tsoffset?: bigint;
}

export interface PcapngProcess {
  pid: number;
  name: string;
}

export function pcapngFile(
  interfaces: PcapngInterface[],
  packets: CapturePacket[],
  opts: {
    littleEndian: boolean;
    processes?: PcapngProcess[];
    drops?: { interface: number; count: bigint; timeZero?: boolean };
    /** Enhanced packet blocks without options end at their data, as dumpcap and editcap write them (else with an end-of-options). */
    bareBlocks?: boolean;
    /** Wireshark custom blocks (PEN 32622, entry 3) describing processes, matched to packets by pidTid. */
    wiresharkProcesses?: { pid: number; name?: string; path?: string; cmdline?: string[]; ppid?: number; startNs?: bigint }[];
  },
): Buffer {
  const le = opts.littleEndian;
  const out: Buffer[] = [];
  const shb = new Bytes(le).u32(0x1a2b3c4d).u16(1).u16(0).i64(-1n);
  out.push(block(le, 0x0a0d0d0a, shb));
  for (const i of interfaces) {
    const b = new Bytes(le).u16(i.linkType).u16(0).u32(262144);
    option(b, 2, Buffer.from(i.name));
    if (i.tsresol !== undefined) option(b, 9, Buffer.from([i.tsresol]));
    if (i.tsoffset !== undefined) option(b, 14, new Bytes(le).i64(i.tsoffset).bytes());
    b.u32(0);
    out.push(block(le, 1, b));
  }
  for (const p of opts.processes ?? []) {
    const b = new Bytes(le).u32(p.pid);
    option(b, 2, Buffer.from(p.name));
    b.u32(0);
    out.push(block(le, 0x80000001, b));
  }
  for (const w of opts.wiresharkProcesses ?? []) {
    // The entry is little-endian whatever the section's byte order; the PEN is in the section's.
    const entry = new Bytes(true).u32(w.pid);
    if (w.name) option(entry, 2, Buffer.from(w.name));
    if (w.path) option(entry, 3, Buffer.from(w.path));
    if (w.cmdline) option(entry, 4, Buffer.from(w.cmdline.join('\0')));
    if (w.ppid !== undefined) option(entry, 5, new Bytes(true).u32(w.ppid).bytes());
    if (w.startNs !== undefined) { const b = Buffer.alloc(8); b.writeBigUInt64LE(w.startNs); option(entry, 9, b); }
    entry.u32(0);
    const data = entry.bytes();
    out.push(block(le, 0x00000bad, new Bytes(le).u32(32622).raw(new Bytes(true).u32(3).u32(data.length).bytes()).raw(data)));
  }
  for (const p of packets) {
    if (p.simple) {
      out.push(block(le, 3, new Bytes(le).u32(p.origLen ?? p.data.length).raw(p.data).pad()));
      continue;
    }
    const iface = interfaces[p.interface ?? 0];
    const units = unitsOf(iface, p.ns);
    const b = new Bytes(le).u32(p.interface ?? 0).u32(Number(units >> 32n)).u32(Number(units & 0xffffffffn));
    b.u32(p.data.length).u32(p.origLen ?? p.data.length).raw(p.data).pad();
    if (p.direction) option(b, 2, new Bytes(le).u32(p.direction).bytes());
    if (p.flags !== undefined) option(b, 2, p.flags);
    if (p.processIndex !== undefined) option(b, 0x8001, new Bytes(le).u32(p.processIndex).bytes());
    for (const comment of p.comments ?? []) option(b, 1, Buffer.from(comment));
    if (p.pidTid) option(b, 8, new Bytes(le).u32(p.pidTid[0]).u32(p.pidTid[1]).bytes());
    const bare = opts.bareBlocks && !p.direction && p.flags === undefined && p.processIndex === undefined && !p.comments?.length && !p.pidTid;
    if (!bare) b.u32(0);
    out.push(block(le, 6, b));
  }
  if (opts.drops) {
    const last = packets.at(-1)!;
    const units = opts.drops.timeZero ? 0n : unitsOf(interfaces[opts.drops.interface], last.ns);
    const b = new Bytes(le).u32(opts.drops.interface).u32(Number(units >> 32n)).u32(Number(units & 0xffffffffn));
    const count = Buffer.alloc(8);
    le ? count.writeBigUInt64LE(opts.drops.count) : count.writeBigUInt64BE(opts.drops.count);
    option(b, 5, count);
    b.u32(0);
    out.push(block(le, 5, b));
  }
  return Buffer.concat(out);
}

function unitsOf(iface: PcapngInterface, ns: bigint): bigint {
  const resol = iface.tsresol ?? 6;
  const perSecond = resol & 0x80 ? 1n << BigInt(resol & 0x7f) : 10n ** BigInt(resol);
  const since = ns - (iface.tsoffset ?? 0n) * 1_000_000_000n;
  return (since * perSecond) / 1_000_000_000n;
}

/** A minimal IPv4/UDP packet (no link layer), distinct per `n`. */
export function udpPacket(n: number): Buffer {
  const ip = Buffer.alloc(28);
  ip[0] = 0x45;
  ip.writeUInt16BE(28 + 4, 2);
  ip[8] = 64;
  ip[9] = 17;
  ip.set([10, 0, 0, 1], 12);
  ip.set([10, 0, 0, 2], 16);
  ip.writeUInt16BE(40000 + n, 20);
  ip.writeUInt16BE(53, 22);
  ip.writeUInt16BE(12, 24);
  return Buffer.concat([ip, Buffer.from([n & 0xff, 1, 2, 3])]);
}

export const ethernet = (payload: Buffer): Buffer =>
  Buffer.concat([Buffer.from('0200000000020200000000010800', 'hex'), payload]);

/**
 * A gzip of a pcap of 700,000 identical 1,514-byte records (~1 GB inflated, under 8 MB
 * compressed): what a zero bomb would be if it were a capture, and an input that takes seconds.
 */
export function largeGzipCapture(): Buffer {
  const frame = Buffer.alloc(1514);
  frame.write('ffffffffffff020000000001', 0, 'hex');
  const pcap = pcapFile([{ ns: 1_700_000_000_000_000_000n, data: frame }], { littleEndian: true, nanos: false, linkType: 1 });
  const block = Buffer.concat(Array.from({ length: 1000 }, () => pcap.subarray(24)));
  return gzipSync(Buffer.concat([pcap.subarray(0, 24), ...Array.from({ length: 700 }, () => block)]), { level: 1 });
}
