/**
 * Synthetic traffic for benchmarks: many TCP flows (handshake, data both ways, FIN) over
 * Ethernet/IPv4, written as a µs pcap. Deterministic: the same arguments give the same bytes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { TCP, tcpFrame as frame } from '../helpers/frames.js';

export interface TrafficOptions {
  /** Stop once the file reaches this many bytes, or holds this many packets. */
  targetBytes: number;
  targetPackets?: number;
  /** Flows open at once; each flow carries `packetsPerFlow` packets. */
  concurrentFlows: number;
  packetsPerFlow: number;
  /** Bytes captured per packet (the rest counted in orig_len only), like tcpdump -s. */
  snapLen?: number;
}

export interface TrafficSummary {
  packets: number;
  flows: number;
  bytes: number;
}

const { SYN, ACK, PSH, FIN } = TCP;

/** A segment of the flow between `client` and `server`, in the direction `toServer` says. */
function segment(client: number, server: number, sport: number, dport: number, seq: number, ack: number, flags: number, payload: number, toServer: boolean): Buffer {
  return toServer
    ? frame({ src: client, dst: server, sport, dport, seq, ack, flags, payload })
    : frame({ src: server, dst: client, sport: dport, dport: sport, seq, ack, flags, payload });
}

/** The packets of flow `n`, in order. */
function* flowPackets(n: number, packetsPerFlow: number): Generator<Buffer> {
  const client = (0x0a000000 | ((n % 60000) + 2)) >>> 0;
  const server = (0xc0a80000 | ((n % 250) + 1)) >>> 0;
  const sport = 1024 + (n * 7) % 60000;
  const dport = [80, 443, 8080, 22][n % 4];
  let cseq = 1000 + n;
  let sseq = 5000 + n;
  yield segment(client, server, sport, dport, cseq++, 0, SYN, 0, true);
  yield segment(client, server, sport, dport, sseq++, cseq, SYN | ACK, 0, false);
  yield segment(client, server, sport, dport, cseq, sseq, ACK, 0, true);
  for (let i = 0; i < packetsPerFlow - 6; i++) {
    const toServer = i % 3 === 0;
    const size = toServer ? 80 + ((n + i) % 200) : 1200 + ((n * i) % 260);
    yield segment(client, server, sport, dport, toServer ? cseq : sseq, toServer ? sseq : cseq, ACK | PSH, size, toServer);
    if (toServer) cseq += size;
    else sseq += size;
  }
  yield segment(client, server, sport, dport, cseq++, sseq, FIN | ACK, 0, true);
  yield segment(client, server, sport, dport, sseq++, cseq, FIN | ACK, 0, false);
  yield segment(client, server, sport, dport, cseq, sseq, ACK, 0, true);
}

export function writeTrafficPcap(path: string, options: TrafficOptions): TrafficSummary {
  const fd = openSync(path, 'w', 0o600);
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(options.snapLen ?? 65535, 16);
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
  const more = () => bytes + pendingBytes < options.targetBytes && packets < (options.targetPackets ?? Infinity);
  while (more()) {
    while (active.length < options.concurrentFlows) active.push(flowPackets(flows++, options.packetsPerFlow));
    for (let i = 0; i < active.length && more(); i++) {
      const next = active[i].next();
      if (next.done) {
        active[i] = flowPackets(flows++, options.packetsPerFlow);
        continue;
      }
      usec += 37;
      const record = Buffer.alloc(16);
      record.writeUInt32LE(startSec + Math.floor(usec / 1e6), 0);
      record.writeUInt32LE(usec % 1e6, 4);
      const captured = Math.min(next.value.length, options.snapLen ?? next.value.length);
      record.writeUInt32LE(captured, 8);
      record.writeUInt32LE(next.value.length, 12);
      pending.push(record, next.value.subarray(0, captured));
      pendingBytes += 16 + captured;
      packets++;
      if (pendingBytes > 8 << 20) flush();
    }
  }
  flush();
  closeSync(fd);
  return { packets, flows, bytes };
}
