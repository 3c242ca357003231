/**
 * The benchmark's workload, written as a µs pcap over Ethernet/IPv4: thousands of flows open at
 * once, most packets 600–1,514 bytes on the wire, some small (handshakes, pure ACKs, DNS), about
 * a tenth of the packets UDP. Deterministic: the same options give the same bytes, so anyone can
 * rerun the README's table (`npm run bench`).
 *
 * Frames are written straight into a large zeroed buffer (headers only; payload bytes stay zero):
 * fast enough to make 20 GB of capture in about a minute.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export interface TrafficOptions {
  /** Packets to write. */
  packets: number;
  /** Flows open at once. */
  concurrentFlows: number;
  /** Bytes captured per packet (the rest counted in orig_len only), like tcpdump -s. */
  snapLen?: number;
}

export interface TrafficSummary {
  packets: number;
  flows: number;
  bytes: number;
  udpPackets: number;
}

const SYN = 2;
const ACK = 16;
const PSH = 8;
const FIN = 1;
const ETH_IP = 14 + 20;

/** xorshift32: a fixed sequence for a fixed seed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

interface Flow {
  udp: boolean;
  client: number;
  server: number;
  sport: number;
  dport: number;
  cseq: number;
  sseq: number;
  /** Packets still to send (data phase), then the closing three for TCP. */
  left: number;
  step: number;
}

export function writeTrafficPcap(path: string, options: TrafficOptions): TrafficSummary {
  const next = random(0x6e657470);
  const snapLen = options.snapLen ?? 65535;
  const fd = openSync(path, 'w', 0o600);
  const CHUNK = 16 << 20;
  let out = Buffer.alloc(CHUNK);
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(snapLen, 16);
  out.writeUInt32LE(1, 20);
  let at = 24;
  let bytes = 0;
  let flows = 0;
  let udpPackets = 0;
  let usec = 0;
  const startSec = 1_700_000_000;

  const newFlow = (): Flow => {
    const n = flows++;
    const udp = next() < 0.4; // UDP flows are short: two in five flows carry about a tenth of the packets
    return {
      udp,
      client: (0x0a000000 | ((n * 2654435761) & 0xffffff)) >>> 0,
      server: (0xc0a80000 | (n % 4093)) >>> 0,
      sport: 1024 + ((n * 7919) % 64000),
      dport: udp ? (next() < 0.5 ? 53 : 443) : [443, 80, 22, 8443][n % 4],
      cseq: (n * 7777) >>> 0,
      sseq: (n * 3333 + 17) >>> 0,
      left: udp ? 2 + Math.floor(next() * 10) : 10 + Math.floor(next() * 50),
      step: 0,
    };
  };

  const emit = (f: Flow, toServer: boolean, flags: number, payload: number) => {
    const l4 = f.udp ? 8 : 20;
    const wire = ETH_IP + l4 + payload;
    const captured = Math.min(wire, snapLen);
    if (at + 16 + captured > out.length) {
      writeSync(fd, out, 0, at);
      bytes += at;
      out = Buffer.alloc(CHUNK);
      at = 0;
    }
    usec += 2 + Math.floor(next() * 10);
    out.writeUInt32LE(startSec + Math.floor(usec / 1e6), at);
    out.writeUInt32LE(usec % 1e6, at + 4);
    out.writeUInt32LE(captured, at + 8);
    out.writeUInt32LE(wire, at + 12);
    const frame = Buffer.alloc(ETH_IP + l4);
    frame.write('020000000002020000000001', 0, 'hex');
    frame.writeUInt16BE(0x0800, 12);
    frame[14] = 0x45;
    frame.writeUInt16BE(20 + l4 + payload, 16);
    frame[22] = 64;
    frame[23] = f.udp ? 17 : 6;
    frame.writeUInt32BE(toServer ? f.client : f.server, 26);
    frame.writeUInt32BE(toServer ? f.server : f.client, 30);
    let sum = 0;
    for (let i = 14; i < 34; i += 2) sum += (frame[i] << 8) | frame[i + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    frame.writeUInt16BE(~sum & 0xffff, 24);
    frame.writeUInt16BE(toServer ? f.sport : f.dport, 34);
    frame.writeUInt16BE(toServer ? f.dport : f.sport, 36);
    if (f.udp) {
      frame.writeUInt16BE(8 + payload, 38);
      udpPackets++;
    } else {
      frame.writeUInt32BE((toServer ? f.cseq : f.sseq) >>> 0, 38);
      frame.writeUInt32BE(flags & ACK ? (toServer ? f.sseq : f.cseq) >>> 0 : 0, 42);
      frame[46] = 5 << 4;
      frame[47] = flags;
      frame.writeUInt16BE(65535, 48);
      const advance = payload + (flags & (SYN | FIN) ? 1 : 0);
      if (toServer) f.cseq = (f.cseq + advance) >>> 0;
      else f.sseq = (f.sseq + advance) >>> 0;
    }
    frame.copy(out, at + 16, 0, Math.min(frame.length, captured));
    at += 16 + captured; // payload bytes stay zero
  };

  /** Sends the flow's next packet; false when the flow has ended. */
  const advance = (f: Flow): boolean => {
    const s = f.step++;
    if (f.udp) {
      const toServer = s % 2 === 0;
      emit(f, toServer, 0, f.dport === 53 ? 30 + Math.floor(next() * 120) : 560 + Math.floor(next() * 700));
      return --f.left > 0;
    }
    if (s === 0) emit(f, true, SYN, 0);
    else if (s === 1) emit(f, false, SYN | ACK, 0);
    else if (s === 2) emit(f, true, ACK, 0);
    else if (f.left > 0) {
      f.left--;
      const r = next();
      if (r < 0.7) emit(f, false, ACK | PSH, 546 + Math.floor(next() * 915)); // server data: 600..1,514 on the wire
      else if (r < 0.85) emit(f, true, ACK | PSH, 546 + Math.floor(next() * 400)); // client data
      else emit(f, true, ACK, 0); // a pure ACK: 54 bytes
    } else if (f.left === 0) {
      f.left = -1;
      emit(f, true, FIN | ACK, 0);
    } else if (f.left === -1) {
      f.left = -2;
      emit(f, false, FIN | ACK, 0);
    } else {
      emit(f, true, ACK, 0);
      return false;
    }
    return true;
  };

  const active: Flow[] = [];
  while (active.length < options.concurrentFlows) active.push(newFlow());
  for (let packets = 0; packets < options.packets; packets++) {
    const i = Math.floor(next() * active.length);
    if (!advance(active[i])) active[i] = newFlow();
  }
  writeSync(fd, out, 0, at);
  bytes += at;
  closeSync(fd);
  return { packets: options.packets, flows, bytes, udpPackets };
}

/**
 * A fast SYN scan, written as the mixed workload is: `packets` SYNs 2 µs apart (500,000 a second,
 * masscan's pace), each to a new address and port, none answered. Every one opens a connection
 * that Zeek's 5 s attempt timer keeps open: the tracker's bound on open connections, not the
 * timers, is what holds memory (flows/tracker.ts MAX_OPEN_CONNECTIONS).
 */
export function writeScanPcap(path: string, packets: number): TrafficSummary {
  const fd = openSync(path, 'w', 0o600);
  const FRAME = 54;
  const out = Buffer.alloc(24 + packets * (16 + FRAME));
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(1, 20);
  let at = 24;
  for (let i = 0; i < packets; i++) {
    const us = i * 2;
    out.writeUInt32LE(1_700_000_000 + Math.floor(us / 1e6), at);
    out.writeUInt32LE(us % 1e6, at + 4);
    out.writeUInt32LE(FRAME, at + 8);
    out.writeUInt32LE(FRAME, at + 12);
    const f = at + 16;
    out.write('020000000002020000000001', f, 'hex');
    out.writeUInt16BE(0x0800, f + 12);
    out[f + 14] = 0x45;
    out.writeUInt16BE(40, f + 16);
    out[f + 22] = 64;
    out[f + 23] = 6;
    out.writeUInt32BE((0x0a010000 + (i >>> 16)) >>> 0, f + 26);
    out.writeUInt32BE((0xac100000 + (i & 0xffff)) >>> 0, f + 30);
    out.writeUInt16BE(40_000 + (i % 20_000), f + 34);
    out.writeUInt16BE(1 + (i % 65_000), f + 36);
    out.writeUInt32BE(i >>> 0, f + 38);
    out[f + 46] = 5 << 4;
    out[f + 47] = 0x02; // SYN
    out.writeUInt16BE(65535, f + 48);
    at += 16 + FRAME;
  }
  writeSync(fd, out, 0, at);
  closeSync(fd);
  return { packets, flows: packets, bytes: at, udpPackets: 0 };
}
