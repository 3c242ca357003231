/**
 * Synthetic traffic for benchmarks: many TCP flows (handshake, data both ways, FIN) over
 * Ethernet/IPv4, written as a µs pcap. Deterministic: the same arguments give the same bytes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export interface TrafficOptions {
  /** Stop once the file reaches this many bytes. */
  targetBytes: number;
  /** Flows open at once; each flow carries `packetsPerFlow` packets. */
  concurrentFlows: number;
  packetsPerFlow: number;
}

export interface TrafficSummary {
  packets: number;
  flows: number;
  bytes: number;
}

function checksum16(buf: Buffer, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i += 2) sum += (buf[i] << 8) | (buf[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** One Ethernet/IPv4/TCP frame. */
function tcpFrame(client: number, server: number, sport: number, dport: number, seq: number, ack: number, flags: number, payload: number, toServer: boolean): Buffer {
  const frame = Buffer.alloc(14 + 20 + 20 + payload);
  frame.write('020000000002020000000001', 0, 'hex');
  frame.writeUInt16BE(0x0800, 12);
  const ip = 14;
  frame[ip] = 0x45;
  frame.writeUInt16BE(40 + payload, ip + 2);
  frame[ip + 8] = 64;
  frame[ip + 9] = 6;
  frame.writeUInt32BE(toServer ? client : server, ip + 12);
  frame.writeUInt32BE(toServer ? server : client, ip + 16);
  frame.writeUInt16BE(checksum16(frame, ip, ip + 20), ip + 10);
  const tcp = ip + 20;
  frame.writeUInt16BE(toServer ? sport : dport, tcp);
  frame.writeUInt16BE(toServer ? dport : sport, tcp + 2);
  frame.writeUInt32BE(seq >>> 0, tcp + 4);
  frame.writeUInt32BE(ack >>> 0, tcp + 8);
  frame[tcp + 12] = 5 << 4;
  frame[tcp + 13] = flags;
  frame.writeUInt16BE(65535, tcp + 14);
  for (let i = 0; i < payload; i++) frame[tcp + 20 + i] = (i * 31) & 0xff;
  return frame;
}

const SYN = 2, ACK = 16, PSH = 8, FIN = 1;

/** The packets of flow `n`, in order, as [µs offset within the flow, frame]. */
function* flowPackets(n: number, packetsPerFlow: number): Generator<Buffer> {
  const client = (0x0a000000 | ((n % 60000) + 2)) >>> 0;
  const server = (0xc0a80000 | ((n % 250) + 1)) >>> 0;
  const sport = 1024 + (n * 7) % 60000;
  const dport = [80, 443, 8080, 22][n % 4];
  let cseq = 1000 + n;
  let sseq = 5000 + n;
  yield tcpFrame(client, server, sport, dport, cseq++, 0, SYN, 0, true);
  yield tcpFrame(client, server, sport, dport, sseq++, cseq, SYN | ACK, 0, false);
  yield tcpFrame(client, server, sport, dport, cseq, sseq, ACK, 0, true);
  for (let i = 0; i < packetsPerFlow - 6; i++) {
    const toServer = i % 3 === 0;
    const size = toServer ? 80 + ((n + i) % 200) : 1200 + ((n * i) % 260);
    yield tcpFrame(client, server, sport, dport, toServer ? cseq : sseq, toServer ? sseq : cseq, ACK | PSH, size, toServer);
    if (toServer) cseq += size;
    else sseq += size;
  }
  yield tcpFrame(client, server, sport, dport, cseq++, sseq, FIN | ACK, 0, true);
  yield tcpFrame(client, server, sport, dport, sseq++, cseq, FIN | ACK, 0, false);
  yield tcpFrame(client, server, sport, dport, cseq, sseq, ACK, 0, true);
}

export function writeTrafficPcap(path: string, options: TrafficOptions): TrafficSummary {
  const fd = openSync(path, 'w', 0o600);
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const pending: Buffer[] = [header];
  let pendingBytes = header.length;
  let bytes = 0;
  let packets = 0;
  let flows = 0;
  let usec = 0;
  const startSec = 1_700_000_000;
  const active: Generator<Buffer>[] = [];
  const flush = () => {
    const all = Buffer.concat(pending);
    writeSync(fd, all);
    bytes += all.length;
    pending.length = 0;
    pendingBytes = 0;
  };
  while (bytes + pendingBytes < options.targetBytes) {
    while (active.length < options.concurrentFlows) active.push(flowPackets(flows++, options.packetsPerFlow));
    for (let i = 0; i < active.length && bytes + pendingBytes < options.targetBytes; i++) {
      const next = active[i].next();
      if (next.done) {
        active[i] = flowPackets(flows++, options.packetsPerFlow);
        continue;
      }
      usec += 37;
      const record = Buffer.alloc(16);
      record.writeUInt32LE(startSec + Math.floor(usec / 1e6), 0);
      record.writeUInt32LE(usec % 1e6, 4);
      record.writeUInt32LE(next.value.length, 8);
      record.writeUInt32LE(next.value.length, 12);
      pending.push(record, next.value);
      pendingBytes += 16 + next.value.length;
      packets++;
      if (pendingBytes > 8 << 20) flush();
    }
  }
  flush();
  closeSync(fd);
  return { packets, flows, bytes };
}
