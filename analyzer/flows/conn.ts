/**
 * One connection as Zeek's conn.log sees it: who originated it, what each side sent, how it
 * ended. Per-protocol state lives in tcp.ts; this file holds what every protocol shares
 * (addresses, roles and their flips, history, packet and IP byte counts) and the UDP/ICMP rules.
 */
import { FlowContent } from './flow-content.js';
import { TcpState, tcpConnState, type TcpHost } from './tcp.js';

/** The application analyzers whose message contents make Zeek flip roles. */
export type AppAnalyzer = 'dns' | 'ntp' | null;

/**
 * An IPv4 address as a signed 32-bit number, an IPv6 address as hex: what packets are matched on.
 * Signed, so that V8 holds it as a small integer: an unsigned one past 2^31 (192.168.x.x) is a
 * heap number, allocated per packet and chased on every comparison.
 */
export type AddressId = number | string;

export interface ConnEndpoints {
  origId: AddressId;
  origAddr: string;
  origPort: number;
  respId: AddressId;
  respAddr: string;
  respPort: number;
}

/** Zeek's proto field: from the responder port's transport. */
export const protoName = (protocol: number): string =>
  protocol === 6 ? 'tcp' : protocol === 17 ? 'udp' : protocol === 1 || protocol === 58 ? 'icmp' : 'unknown_transport';

export class Conn extends FlowContent implements TcpHost {
  history = '';
  private historySeen = 0;
  missedBytes = 0;
  /** ConnSize: packets and IP bytes per side. */
  origPkts = 0;
  origIpBytes = 0;
  respPkts = 0;
  respIpBytes = 0;
  /** UDP/ICMP payload bytes per side; -1 while a side has sent nothing (inactive). */
  origSize = -1;
  respSize = -1;
  lastT: number;
  /** startT and lastT exactly, where they pass 2^53 ns from the session start (the doubles are rounded there); else null. */
  startExact: bigint | null = null;
  lastExact: bigint | null = null;
  readonly tcp: TcpState | null;
  /** Session time at which Zeek would remove a TCP connection after its close, or null. */
  closedAt: number | null = null;
  app: AppAnalyzer = null;
  dnsFirstMessage = true;
  /** Packets of this connection, for the packets table's flow column. */
  packets = 0;
  /** Had a packet since the tracker's clock hand last passed it (tracker.ts makeRoom). */
  touched = false;
  /** MACs of the originator and responder from the connection's first packet (48-bit numbers), or -1. */
  origL2 = -1;
  respL2 = -1;
  /** Ports for the Community ID where the connection is not keyed by ports (SCTP). */
  idPorts: [number, number] | null = null;

  /** Who sent the first packet: packets record whether they came from this side. */
  readonly firstSenderId: AddressId;
  readonly firstSenderPort: number;

  constructor(
    /** Creation order within the session. */
    readonly no: number,
    readonly uid: string,
    /** Direction-free hash of the 5-tuple (see tracker.ts). */
    readonly hash: number,
    readonly protocol: number,
    public ends: ConnEndpoints,
    readonly startT: number,
  ) {
    super();
    this.lastT = startT;
    this.tcp = protocol === 6 ? new TcpState() : null;
    this.firstSenderId = ends.origId;
    this.firstSenderPort = ends.origPort;
  }

  isOrigSender(srcId: AddressId, srcPort: number): boolean {
    return srcId === this.ends.origId && srcPort === this.ends.origPort;
  }

  /** Is this the connection of a packet with this 5-tuple, in either direction? */
  matches(protocol: number, srcId: AddressId, srcPort: number, dstId: AddressId, dstPort: number): boolean {
    const e = this.ends;
    if (protocol !== this.protocol) return false;
    return (
      (srcId === e.origId && srcPort === e.origPort && dstId === e.respId && dstPort === e.respPort) ||
      (srcId === e.respId && srcPort === e.respPort && dstId === e.origId && dstPort === e.origPort)
    );
  }

  checkHistory(bit: number, code: string, isOrig: boolean): boolean {
    const mask = isOrig ? bit : bit << 16;
    if ((this.historySeen & mask) === 0) {
      this.historySeen |= mask;
      this.history += isOrig ? code : code.toLowerCase();
      return false;
    }
    return true;
  }

  addHistory(code: string, isOrig: boolean): void {
    this.history += isOrig ? code : code.toLowerCase();
  }

  /**
   * Swaps originator and responder. As in Zeek, the packet and byte counters swap with them,
   * but the history bits and UDP sizes already recorded do not.
   */
  flipRoles(): void {
    const e = this.ends;
    this.ends = { origId: e.respId, origAddr: e.respAddr, origPort: e.respPort, respId: e.origId, respAddr: e.origAddr, respPort: e.origPort };
    [this.origPkts, this.respPkts] = [this.respPkts, this.origPkts];
    [this.origIpBytes, this.respIpBytes] = [this.respIpBytes, this.origIpBytes];
    [this.origL2, this.respL2] = [this.respL2, this.origL2];
    this.tcp?.flip();
    this.history += '^';
  }

  /** ConnSize: one packet of `ipTotalLen` bytes from the originator (`isOrig`) or responder. */
  count(isOrig: boolean, ipTotalLen: number): void {
    if (isOrig) {
      this.origPkts++;
      this.origIpBytes += ipTotalLen;
    } else {
      this.respPkts++;
      this.respIpBytes += ipTotalLen;
    }
  }

  /** UDP and ICMP: a datagram of `bytes` payload from one side. */
  datagram(isOrig: boolean, bytes: number, t: number, historyCode: string | null): void {
    if (historyCode) this.checkHistory(isOrig ? 1 : 2, historyCode, isOrig);
    if (isOrig) this.origSize = Math.max(this.origSize, 0) + bytes;
    else this.respSize = Math.max(this.respSize, 0) + bytes;
    this.lastT = t;
  }

  /** The conn.log row's computed fields. */
  summary(): { durationNs: number; origBytes: number; respBytes: number; connState: string } {
    const durationNs =
      this.startExact === null && this.lastExact === null ? this.lastT - this.startT : Number((this.lastExact ?? BigInt(this.lastT)) - (this.startExact ?? BigInt(this.startT)));
    if (this.tcp) {
      return { durationNs, origBytes: this.tcp.orig.size(), respBytes: this.tcp.resp.size(), connState: tcpConnState(this.tcp.orig, this.tcp.resp, this.history) };
    }
    const origActive = this.origSize >= 0;
    const respActive = this.respSize >= 0;
    let connState = 'OTH';
    if (this.protocol === 17) connState = origActive ? (respActive ? 'SF' : 'S0') : respActive ? 'SHR' : 'OTH';
    return { durationNs, origBytes: Math.max(this.origSize, 0), respBytes: Math.max(this.respSize, 0), connState };
  }
}
