/**
 * TCP connection state as Zeek's conn.log reports it: endpoint states, history letters, payload
 * sizes from sequence numbers, content gaps. The rules follow Zeek's TCPSessionAdapter and
 * TCP_Endpoint (BSD licence) so that conn_state, history and byte counts match Zeek's output on
 * the same packets; they are written here in netprov's own structure, not translated line by line.
 *
 * Sequence arithmetic is modulo 2^32 with wrap counters, as in Zeek.
 */
import { TcpFlag } from '../dissect/packet.js';

export const EndpointState = { inactive: 0, synSent: 1, synAckSent: 2, partial: 3, established: 4, closed: 5, reset: 6 } as const;
type State = (typeof EndpointState)[keyof typeof EndpointState];

/** Zeek refuses to trust a jump of more than this in SYN/RST sequence numbers. */
const TOO_LARGE_SEQ_DELTA = 1048576;
const TWO_32 = 4294967296;

/** Signed difference of two 32-bit sequence numbers. */
const seqDelta = (a: number, b: number): number => (a - b) | 0;

/** The connection-level pieces a TCP endpoint writes to: history letters and flips. */
export interface TcpHost {
  /** Adds `code` (lowercased for the responder) once per connection for the given bit. */
  checkHistory(bit: number, code: string, isOrig: boolean): boolean;
  addHistory(code: string, isOrig: boolean): void;
  flipRoles(): void;
  missedBytes: number;
}

/** History bits, one set per side (the responder's are shifted 16 left). */
const Hist = { SYN: 0x1, FIN: 0x2, RST: 0x4, FIN_RST: 0x8, DATA: 0x10, ACK: 0x20, MULTI_FLAG: 0x40 } as const;

export class TcpEndpoint {
  state: State = EndpointState.inactive;
  prevState: State = EndpointState.inactive;
  startSeq = 0;
  lastSeq = 0;
  ackSeq = 0;
  seqWraps = 0;
  ackWraps = 0;
  finCount = 0;
  finSeq = 0;
  didClose = false;
  histLastSyn = 0;
  histLastFin = 0;
  histLastRst = 0;
  private retransmits = 0;
  private retransmitThreshold = 1;
  private zeroWindows = 0;
  private zeroWindowThreshold = 1;
  private gaps = 0;
  private gapThreshold = 1;
  /** Reassembly bookkeeping for gaps: everything below `trimSeq` is accounted for. */
  private trimSeq = 1;
  /** [trimSeq, contiguous) has all been seen: the in-order case needs nothing else. */
  private contiguous = 1;
  /** Data seen beyond `contiguous` (out of order), as sorted, merged [start, end) pairs. */
  private ranges: number[] = [];
  peer!: TcpEndpoint;

  constructor(public isOrig: boolean) {}

  setState(next: State): void {
    if (next !== this.state) {
      this.prevState = this.state;
      this.state = next;
    }
  }

  updateLastSeq(seq: number): void {
    if (seq < this.lastSeq) this.seqWraps++;
    this.lastSeq = seq;
  }

  updateAckSeq(seq: number): void {
    if (seq < this.ackSeq) this.ackWraps++;
    this.ackSeq = seq;
  }

  /** Relative position of `seq` in this endpoint's sequence space, given the wrap count. */
  relative(seq: number, wraps: number): number {
    return wraps * TWO_32 + seq - this.startSeq;
  }

  /** Bytes of payload this endpoint sent, from sequence numbers (Zeek's TCP_Endpoint::Size). */
  size(): number {
    if (
      this.prevState === EndpointState.synSent && this.state === EndpointState.reset &&
      this.peer.state === EndpointState.inactive && !this.noDataAcked()
    ) return 0;
    const last = this.seqWraps * TWO_32 + this.lastSeq;
    const ack = this.ackWraps * TWO_32 + this.ackSeq;
    let size = (last > ack ? last : ack) - this.startSeq;
    if (size !== 0) size--; // the SYN's sequence number
    if (this.finCount > 0 && size !== 0) size--; // the FIN's
    return size;
  }

  private noDataAcked(): boolean {
    const ack = this.ackWraps * TWO_32 + this.ackSeq;
    return ack === this.startSeq || ack === this.startSeq + 1;
  }

  didRetransmit(host: TcpHost): void {
    if (++this.retransmits === this.retransmitThreshold) {
      host.addHistory('T', this.isOrig);
      this.retransmitThreshold *= 10;
    }
  }

  zeroWindow(host: TcpHost): void {
    if (++this.zeroWindows === this.zeroWindowThreshold) {
      host.addHistory('W', this.isOrig);
      this.zeroWindowThreshold *= 10;
    }
  }

  /** Payload [seq, seq+len) in relative sequence space reached the monitor. */
  dataSent(seq: number, len: number): void {
    const end = seq + len;
    if (end <= this.contiguous) return; // already seen: a retransmission
    if (seq <= this.contiguous) {
      this.contiguous = end;
      this.absorbRanges();
      return;
    }
    // Out of order: remember the island until the hole before it fills or is acknowledged away.
    const merged: number[] = [];
    let s = seq;
    let e = end;
    let placed = false;
    for (let i = 0; i < this.ranges.length; i += 2) {
      const rs = this.ranges[i];
      const re = this.ranges[i + 1];
      if (re < s) merged.push(rs, re);
      else if (rs > e) {
        if (!placed) merged.push(s, e);
        placed = true;
        merged.push(rs, re);
      } else {
        s = Math.min(s, rs);
        e = Math.max(e, re);
      }
    }
    if (!placed) merged.push(s, e);
    this.ranges = merged;
  }

  private absorbRanges(): void {
    while (this.ranges.length && this.ranges[0] <= this.contiguous) {
      this.contiguous = Math.max(this.contiguous, this.ranges[1]);
      this.ranges.splice(0, 2);
    }
  }

  /**
   * The peer acknowledged up to relative `seq`: bytes below it that never reached the monitor
   * are a content gap (Zeek's content_gap, summed into missed_bytes).
   */
  ackReceived(seq: number, host: TcpHost, atClose: boolean): void {
    let upTo = seq;
    if (this.finCount > 0 && upTo >= this.finSeq) upTo = this.finSeq - 1;
    if (upTo <= this.trimSeq) return;
    this.trimSeq = upTo;
    if (upTo <= this.contiguous) return;
    let missing = 0;
    let cursor = this.contiguous;
    while (this.ranges.length && this.ranges[0] < upTo) {
      missing += this.ranges[0] - cursor;
      cursor = this.ranges[1];
      if (cursor > upTo) {
        this.ranges[0] = upTo;
        break;
      }
      this.ranges.splice(0, 2);
    }
    if (upTo > cursor) missing += upTo - cursor;
    this.contiguous = Math.max(upTo, cursor);
    this.absorbRanges();
    const reportGaps = this.state !== EndpointState.partial && this.peer.state !== EndpointState.partial;
    if (missing > 0 && reportGaps) {
      host.missedBytes += missing;
      if (!atClose && ++this.gaps === this.gapThreshold) {
        host.addHistory('G', this.isOrig);
        this.gapThreshold *= 10;
      }
    }
  }
}

/** What `step` reports, as bits (no object per packet). */
export const Step = {
  /** The connection's last-activity time moves to this packet's time. */
  touch: 1,
  /** Both sides have now closed, or one reset: Zeek removes the connection after a delay. */
  closeComplete: 2,
} as const;

const has = (flags: number, bit: number) => (flags & bit) !== 0;

/** A TCP connection's two endpoints and the Zeek state machine that moves them. */
export class TcpState {
  orig = new TcpEndpoint(true);
  resp = new TcpEndpoint(false);

  constructor() {
    this.orig.peer = this.resp;
    this.resp.peer = this.orig;
  }

  /** Swaps the endpoints when the connection's roles flip. */
  flip(): void {
    [this.orig, this.resp] = [this.resp, this.orig];
    this.orig.isOrig = true;
    this.resp.isOrig = false;
  }

  /**
   * Processes one segment sent by the originator (`isOrig`) or the responder; `len` is the
   * payload length per the IP header. Returns Step bits.
   */
  step(host: TcpHost, isOrig: boolean, flags: number, seq: number, ackSeq: number, window: number, len: number): number {
    const endpoint = isOrig ? this.orig : this.resp;
    const peer = endpoint.peer;
    const syn = has(flags, TcpFlag.SYN);
    const fin = has(flags, TcpFlag.FIN);
    const rst = has(flags, TcpFlag.RST);
    const ack = has(flags, TcpFlag.ACK);

    let segLen = len + (syn ? 1 : 0) + (fin ? 1 : 0);
    if (rst) segLen -= len;
    const seqOnePast = (seq + segLen) >>> 0;

    initEndpoint(endpoint, syn, seq, seqOnePast);
    const relSeq = relativeSeq(endpoint, seq, endpoint.lastSeq, endpoint.seqWraps);
    const underflow = relSeq < 0;

    updateHistory(host, endpoint, flags, relSeq, len);
    if (window === 0 && !rst && peer.state !== EndpointState.closed && endpoint.state !== EndpointState.reset) {
      endpoint.zeroWindow(host);
    }
    const touch = !this.orig.didClose || !this.resp.didClose;

    if (fin) {
      endpoint.finCount++;
      endpoint.finSeq = relSeq + segLen;
    }

    let relAck = 0;
    if (ack) {
      if (peer.state === EndpointState.inactive) {
        relAck = 1;
        peer.startSeq = peer.ackSeq = peer.lastSeq = (ackSeq - 1) >>> 0;
      } else {
        relAck = relativeSeq(peer, ackSeq, peer.ackSeq, peer.ackWraps);
        if (relAck < 0) relAck = 0; // an ack below the peer's start: misordered or broken
        else if (!rst) updateAckSeq(peer, ackSeq);
      }
    }

    updateLastSeq(host, endpoint, seqOnePast, flags, len);
    const doClose = this.updateStateMachine(host, endpoint, peer, flags, seq, len, isOrig);

    if (ack) peer.ackReceived(relAck, host, fin || rst);
    if (len > 0 && !rst && !underflow) endpoint.dataSent(syn ? relSeq + 1 : relSeq, len);

    let result = touch ? Step.touch : 0;
    if (doClose && !endpoint.didClose) {
      endpoint.didClose = true;
      if (endpoint.state === EndpointState.reset || peer.didClose || peer.state === EndpointState.inactive) result |= Step.closeComplete;
    }
    return result;
  }

  /** Moves the endpoint states; true when this segment closes the sender's side. */
  private updateStateMachine(host: TcpHost, endpoint: TcpEndpoint, peer: TcpEndpoint, flags: number, seq: number, len: number, isOrig: boolean): boolean {
    const syn = has(flags, TcpFlag.SYN);
    const fin = has(flags, TcpFlag.FIN);
    const rst = has(flags, TcpFlag.RST);
    const ack = has(flags, TcpFlag.ACK);
    let doClose = false;
    switch (endpoint.state) {
      case EndpointState.inactive: {
        if (syn) {
          if (isOrig) endpoint.setState(ack ? EndpointState.synAckSent : EndpointState.synSent);
          else {
            if (!ack && peer.state === EndpointState.synAckSent && seq === endpoint.startSeq) {
              // A SYN/SYN-ACK reversal: the SYN-ACK was seen first. Flip and establish.
              host.flipRoles();
              peer.setState(EndpointState.established);
            }
            if (peer.state === EndpointState.synSent) peer.setState(EndpointState.established);
            endpoint.setState(EndpointState.established);
          }
        }
        if (fin) {
          endpoint.setState(EndpointState.closed);
          doClose = true;
        }
        if (rst) {
          endpoint.setState(EndpointState.reset);
          doClose = true;
        }
        if (endpoint.state === EndpointState.inactive) {
          if (!isOrig && len === 0 && this.orig.state === EndpointState.synSent) {
            // An ACK of the initial SYN before the SYN-ACK: not yet a partial connection.
          } else if (ack && peer.state === EndpointState.established) {
            // The SYN was missed but the SYN-ACK was seen: establish rather than call it partial.
            endpoint.setState(EndpointState.established);
          } else {
            endpoint.setState(EndpointState.partial);
          }
        }
        break;
      }
      case EndpointState.synSent:
      case EndpointState.synAckSent:
        if (fin) {
          endpoint.setState(EndpointState.closed);
          doClose = true;
        }
        if (rst) {
          endpoint.setState(EndpointState.reset);
          doClose = true;
        }
        break;
      case EndpointState.established:
      case EndpointState.partial:
        if (syn && endpoint.state === EndpointState.partial && peer.state === EndpointState.inactive && !ack) {
          endpoint.setState(EndpointState.synSent);
        }
        if (fin && !rst) {
          endpoint.setState(EndpointState.closed);
          if (peer.state === EndpointState.reset && peer.prevState === EndpointState.closed) peer.setState(EndpointState.closed);
          doClose = true;
        }
        if (rst) {
          endpoint.setState(EndpointState.reset);
          doClose = true;
        }
        break;
      case EndpointState.closed:
        if (rst && endpoint.peer.state !== EndpointState.closed) {
          endpoint.setState(EndpointState.reset);
          if (!endpoint.didClose) doClose = true;
        }
        break;
      case EndpointState.reset:
        break;
    }
    return doClose;
  }
}

function initEndpoint(endpoint: TcpEndpoint, syn: boolean, firstSeq: number, lastSeq: number): void {
  switch (endpoint.state) {
    case EndpointState.inactive:
      if (syn) {
        endpoint.ackSeq = firstSeq;
        endpoint.startSeq = firstSeq;
      } else {
        // A partial connection: number as though a SYN had been seen.
        endpoint.ackSeq = (firstSeq - 1) >>> 0;
        endpoint.startSeq = (firstSeq - 1) >>> 0;
        lastSeq = firstSeq;
      }
      endpoint.lastSeq = lastSeq;
      break;
    case EndpointState.synSent:
    case EndpointState.synAckSent:
      if (syn && firstSeq !== endpoint.startSeq) {
        endpoint.startSeq = endpoint.ackSeq = firstSeq;
        endpoint.lastSeq = lastSeq;
      }
      break;
    case EndpointState.established:
    case EndpointState.partial:
      if (syn) {
        endpoint.startSeq = endpoint.ackSeq = firstSeq;
        endpoint.lastSeq = lastSeq;
      }
      break;
    case EndpointState.reset:
      if (syn && endpoint.prevState === EndpointState.inactive) {
        endpoint.startSeq = endpoint.ackSeq = firstSeq;
        endpoint.lastSeq = lastSeq;
      }
      break;
  }
}

/** Position of `current` in the endpoint's sequence space; negative means before its start (underflow). */
function relativeSeq(endpoint: TcpEndpoint, current: number, last: number, wraps: number): number {
  const delta = seqDelta(current, last);
  if (delta < 0) {
    if (wraps && current > last) wraps--;
  } else if (delta > 0) {
    if (current < last) wraps++;
  }
  if (wraps === 0) return seqDelta(current, endpoint.startSeq);
  return endpoint.relative(current, wraps);
}

function updateHistory(host: TcpHost, endpoint: TcpEndpoint, flags: number, relSeq: number, len: number): void {
  const syn = has(flags, TcpFlag.SYN);
  const fin = has(flags, TcpFlag.FIN);
  const rst = has(flags, TcpFlag.RST);
  const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
  const o = endpoint.isOrig;
  if (bits > 1) {
    if (fin && rst) host.checkHistory(Hist.FIN_RST, 'I', o);
    else host.checkHistory(Hist.MULTI_FLAG, 'Q', o);
  } else if (bits === 1) {
    if (syn) {
      const code = has(flags, TcpFlag.ACK) ? 'H' : 'S';
      // A repeated SYN is recorded again only when its sequence number differs.
      if (host.checkHistory(Hist.SYN, code, o) && relSeq !== endpoint.histLastSyn) host.addHistory(code, o);
      endpoint.histLastSyn = relSeq;
    }
    if (fin) {
      if (host.checkHistory(Hist.FIN, 'F', o) && relSeq + len !== endpoint.histLastFin) host.addHistory('F', o);
      endpoint.histLastFin = relSeq + len;
    }
    if (rst) {
      if (host.checkHistory(Hist.RST, 'R', o) && relSeq !== endpoint.histLastRst) host.addHistory('R', o);
      endpoint.histLastRst = relSeq;
    }
  } else if (len > 0) host.checkHistory(Hist.DATA, 'D', o);
  else if (has(flags, TcpFlag.ACK)) host.checkHistory(Hist.ACK, 'A', o);
}

function updateAckSeq(endpoint: TcpEndpoint, ackSeq: number): void {
  const delta = seqDelta(ackSeq, endpoint.ackSeq);
  if (ackSeq === 0 && delta > TOO_LARGE_SEQ_DELTA) return; // a broken ack, not a wrap
  if (delta > 0) endpoint.updateAckSeq(ackSeq);
}

function updateLastSeq(host: TcpHost, endpoint: TcpEndpoint, lastSeq: number, flags: number, len: number): void {
  const delta = seqDelta(lastSeq, endpoint.lastSeq);
  const synOrRst = has(flags, TcpFlag.SYN) || has(flags, TcpFlag.RST);
  if (synOrRst && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA)) {
    // Do not trust far-off sequence numbers on SYN or RST.
  } else if (has(flags, TcpFlag.FIN) && endpoint.lastSeq === ((endpoint.startSeq + 1) >>> 0)) {
    endpoint.updateLastSeq(lastSeq); // only SYN and FIN seen: trust the FIN even backwards (> 2 GB flows)
  } else if (endpoint.state === EndpointState.reset) {
    // Nothing after a RST is trusted.
  } else if (delta > 0) {
    endpoint.updateLastSeq(lastSeq);
  } else if (len > 0) {
    endpoint.didRetransmit(host);
  }
}

/** Zeek's TCP conn_state from the two endpoint states. */
export function tcpConnState(orig: TcpEndpoint, resp: TcpEndpoint, history: string): string {
  const os = orig.state;
  const rs = resp.state;
  const oInactive = os === EndpointState.inactive || os === EndpointState.partial;
  const rInactive = rs === EndpointState.inactive || rs === EndpointState.partial;
  if (rs === EndpointState.reset) {
    if (os === EndpointState.synSent || os === EndpointState.synAckSent || (os === EndpointState.reset && orig.size() === 0 && resp.size() === 0)) return 'REJ';
    return oInactive ? 'RSTRH' : 'RSTR';
  }
  if (os === EndpointState.reset) {
    if (rInactive) return /^\^?S[^HAFGIQ]*R.*$/.test(history) ? 'RSTOS0' : 'OTH';
    return 'RSTO';
  }
  if (rs === EndpointState.closed && os === EndpointState.closed) return 'SF';
  if (os === EndpointState.closed) return rInactive ? 'SH' : 'S2';
  if (rs === EndpointState.closed) return oInactive ? 'SHR' : 'S3';
  if (os === EndpointState.synSent && rs === EndpointState.inactive) return 'S0';
  if (os === EndpointState.established && rs === EndpointState.established) return 'S1';
  return 'OTH';
}
