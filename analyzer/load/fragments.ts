/**
 * IP fragment reassembly for connection tracking, as Zeek does it: a fragmented datagram
 * counts as one packet of its whole length, at the moment its last missing piece arrives, with
 * the transport header its first fragment carried. Fragments of a datagram that never completes
 * (within a minute of session time) are dropped from tracking; their packets stay in the table.
 */
import type { Dissected } from '../dissect/packet.js';

/** What tracking needs of a whole datagram (the fields a single packet would give). */
export interface Datagram {
  srcPort: number;
  dstPort: number;
  icmpType: number;
  icmpCode: number;
  tcpFlags: number;
  seq: number;
  ack: number;
  window: number;
  ipTotalLen: number;
  l4Len: number;
  payloadLen: number;
  udpLength: number;
  appHead: number;
}

interface Pending {
  /** Transport header fields, once the first fragment has come. */
  first: Omit<Datagram, 'ipTotalLen' | 'l4Len' | 'payloadLen'> | null;
  transportHeaderLen: number;
  ipHeaderLen: number;
  /** Payload byte ranges received, [start, end). */
  ranges: [number, number][];
  /** Datagram payload length, once the last fragment (no more-fragments flag) has come. */
  total: number | null;
  lastT: number;
}

const TIMEOUT_NS = 60e9;

export class Reassembler {
  private readonly pending = new Map<string, Pending>();
  private nextSweep = 0;

  /**
   * Feeds one fragment (`key` names its datagram: addresses, protocol, IP id). Returns the whole
   * datagram when this fragment completes it, else null.
   */
  add(d: Dissected, key: string, t: number, appHead: number): Datagram | null {
    if (t >= this.nextSweep) this.sweep(t);
    let p = this.pending.get(key);
    if (!p) {
      p = { first: null, transportHeaderLen: 0, ipHeaderLen: d.l4Offset - d.ipOffset, ranges: [], total: null, lastT: t };
      this.pending.set(key, p);
    }
    p.lastT = t;
    const start = d.fragOffset;
    const end = start + Math.max(0, d.l4Len);
    p.ranges.push([start, end]);
    if (start === 0) {
      p.first = {
        srcPort: d.srcPort, dstPort: d.dstPort, icmpType: d.icmpType, icmpCode: d.icmpCode, tcpFlags: d.tcpFlags, seq: d.seq, ack: d.ack,
        window: d.window, udpLength: d.udpLength, appHead,
      };
      p.transportHeaderLen = Math.max(0, d.payloadOffset - d.l4Offset);
      p.ipHeaderLen = d.l4Offset - d.ipOffset;
    }
    if (!d.moreFragments) p.total = end;
    if (p.first === null || p.total === null || !covers(p.ranges, p.total)) return null;
    this.pending.delete(key);
    return { ...p.first, ipTotalLen: p.ipHeaderLen + p.total, l4Len: p.total, payloadLen: Math.max(0, p.total - p.transportHeaderLen) };
  }

  private sweep(t: number): void {
    this.nextSweep = t + 10e9;
    for (const [key, p] of this.pending) if (t - p.lastT > TIMEOUT_NS) this.pending.delete(key);
  }
}

function covers(ranges: [number, number][], total: number): boolean {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let reached = 0;
  for (const [start, end] of sorted) {
    if (start > reached) return false;
    reached = Math.max(reached, end);
  }
  return reached >= total;
}
