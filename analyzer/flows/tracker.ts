/**
 * The connection table: finds each packet's connection (creating it with Zeek's originator
 * choice), drives the per-protocol rules, and retires connections the way Zeek's timers would —
 * inactivity, TCP close and attempt delays, and reuse of a 5-tuple by a new SYN — so that a
 * reused 5-tuple becomes separate rows. Retired connections go to `onFinished` at once, so
 * memory holds only connections that are still open.
 */
import { TcpFlag, type Dissected } from '../dissect/packet.js';
import { icmpPorts } from './community-id.js';
import { Conn, type AddressId, type AppAnalyzer } from './conn.js';
import { isLikelyServerPort } from './likely-server-ports.js';
import { EndpointState, Step } from './tcp.js';
import { FlowUids } from './uids.js';

const SECOND = 1e9;
/** Zeek's defaults (init-bare.zeek). */
export const Timeouts = {
  tcpInactivity: 300 * SECOND,
  udpInactivity: 60 * SECOND,
  icmpInactivity: 60 * SECOND,
  otherInactivity: 60 * SECOND,
  tcpAttempt: 5 * SECOND,
  tcpClose: 5 * SECOND,
  tcpSynTimeout: 5 * SECOND,
  tcpSessionTimer: 6 * SECOND,
  tcpLinger: 5 * SECOND,
};

const DNS_PORTS = new Set([53, 137, 5353, 5355]);

/**
 * Connections open at once, at most: past it, one is retired early (makeRoom), so that memory
 * is bounded whatever the capture — a fast scan opens a connection a packet, all alive for Zeek's
 * 5 s attempt timer. ~700 bytes each in C (the native tracker), ~180 MiB at the cap, which keeps
 * `analyze --db` of a 2,000,000-packet scan under its 1 GiB; the benchmark's busiest moment holds
 * ~100,000.
 */
export const MAX_OPEN_CONNECTIONS = 262_144;

/** The fields of a dissected IP packet that connection tracking reads (see Dissected for each). */
export type TrackedPacket = Pick<
  Dissected,
  'ipVersion' | 'protocol' | 'fragOffset' | 'srcPort' | 'dstPort' | 'icmpType' | 'icmpCode' | 'tcpFlags' | 'seq' | 'ack' | 'window' | 'ipTotalLen' | 'l4Len' | 'payloadLen' | 'udpLength' | 'badChecksum'
> & {
  /** The transport header could not be read, so there are no ports to key on. */
  broken: boolean;
  srcId: AddressId;
  dstId: AddressId;
  /** Address text, asked for only when a connection is created. */
  srcText(): string;
  dstText(): string;
  /** First three payload bytes as a 24-bit number, or -1: DNS and NTP role flips read them. */
  appHead: number;
  /** The frame's source and destination MACs as 48-bit numbers, or -1. */
  macSrc: number;
  macDst: number;
  /** The packet's time exactly, asked for only past 2^53 ns from the session start, where `t` is rounded. */
  exactT(): bigint;
};

/** Where a packet landed: reused for every packet (no allocation per packet). */
export interface PacketInFlow {
  conn: Conn;
  /** Sent by the originator, as the roles stand after this packet. */
  isOrig: boolean;
  /** Sent by the side that sent the connection's first packet (fixed, unlike roles, which flip). */
  fromFirstSender: boolean;
  src: string;
  dst: string;
}

/**
 * Connections by 5-tuple in either direction. IPv4 addresses are numbers and the tuple hashes
 * to a number, so the hot path builds no string per packet (a string key per packet measured
 * ~0.6 µs of the ~1.8 µs a packet cost before). Tuples are compared on every hit.
 */
class ConnTable {
  private readonly buckets = new Map<number, Conn | Conn[]>();
  size = 0;

  get(hash: number, protocol: number, srcId: AddressId, srcPort: number, dstId: AddressId, dstPort: number): Conn | undefined {
    const entry = this.buckets.get(hash);
    if (entry === undefined) return undefined;
    if (!Array.isArray(entry)) return entry.matches(protocol, srcId, srcPort, dstId, dstPort) ? entry : undefined;
    return entry.find((c) => c.matches(protocol, srcId, srcPort, dstId, dstPort));
  }

  add(conn: Conn): void {
    const entry = this.buckets.get(conn.hash);
    if (entry === undefined) this.buckets.set(conn.hash, conn);
    else if (Array.isArray(entry)) entry.push(conn);
    else this.buckets.set(conn.hash, [entry, conn]);
    this.size++;
  }

  delete(conn: Conn): void {
    const entry = this.buckets.get(conn.hash);
    if (entry === conn) this.buckets.delete(conn.hash);
    else if (Array.isArray(entry)) {
      const rest = entry.filter((c) => c !== conn);
      this.buckets.set(conn.hash, rest.length === 1 ? rest[0] : rest);
    } else return;
    this.size--;
  }

  /** The open connections in creation order (the order the native tracker retires them in too). */
  values(): Conn[] {
    const all: Conn[] = [];
    for (const entry of this.buckets.values()) {
      if (Array.isArray(entry)) all.push(...entry);
      else all.push(entry);
    }
    return all.sort((a, b) => a.no - b.no);
  }

  clear(): void {
    this.buckets.clear();
    this.size = 0;
  }
}

function endpointHash(id: AddressId, port: number): number {
  let h = typeof id === 'number' ? id : stringHash(id);
  h = Math.imul(h ^ Math.imul(port + 1, 0x9e3779b1), 0x85ebca6b);
  return (h ^ (h >>> 13)) | 0;
}

function stringHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * Direction-free: the two endpoint hashes are summed. Kept to 30 bits, a small integer for V8:
 * a wider key is a heap number, allocated per packet.
 */
const tupleHash = (protocol: number, a: AddressId, ap: number, b: AddressId, bp: number) =>
  (((endpointHash(a, ap) + endpointHash(b, bp)) | 0) ^ Math.imul(protocol + 1, 0x27d4eb2d)) & 0x3fffffff;

export class ConnTracker {
  private readonly conns = new ConnTable();
  private readonly result: PacketInFlow = { conn: null as unknown as Conn, isOrig: false, fromFirstSender: false, src: '', dst: '' };
  private created = 0;
  private nextSweep = 0;
  /** The open connections in creation order, and makeRoom's clock hand over them (a live iterator). */
  private readonly clock = new Set<Conn>();
  private hand: Iterator<Conn> | null = null;
  /** Connections retired early to stay within maxOpen, before Zeek's timers would have retired them. */
  evicted = 0;

  constructor(
    private readonly uids: FlowUids,
    private readonly onFinished: (conn: Conn) => void,
    private readonly maxOpen = MAX_OPEN_CONNECTIONS,
  ) {}

  get open(): number {
    return this.conns.size;
  }

  /**
   * Feeds one dissected IP packet at session time `t`; returns its connection, or null for
   * packets that form no connection (not IP, a non-first fragment, a broken transport header).
   * `tunnel` is the uid of the tunnel the packet came out of, or null. The returned object is
   * reused by the next call.
   */
  packet(d: TrackedPacket, t: number, tunnel: string | null = null): PacketInFlow | null {
    if (d.ipVersion === 0 || d.fragOffset !== 0 || d.broken) return null;
    if (t >= this.nextSweep) this.sweep(t);

    const srcId = d.srcId;
    const dstId = d.dstId;
    let srcPort = d.srcPort;
    let dstPort = d.dstPort;
    if (d.protocol === 1 || d.protocol === 58) [srcPort, dstPort] = icmpPorts(d.protocol, d.icmpType, d.icmpCode);
    else if (!isTracked(d.protocol)) srcPort = dstPort = 0;

    const hash = tupleHash(d.protocol, srcId, srcPort, dstId, dstPort);
    let conn = this.conns.get(hash, d.protocol, srcId, srcPort, dstId, dstPort);
    if (conn && (this.expired(conn, t) || this.isReuse(conn, d))) {
      this.finish(conn);
      conn = undefined;
    }
    if (!conn) {
      if (this.conns.size >= this.maxOpen) this.makeRoom(t);
      conn = this.create(hash, d, t, srcId, dstId, srcPort, dstPort);
      if (!Number.isSafeInteger(t)) conn.startExact = conn.lastExact = d.exactT();
      this.conns.add(conn);
      this.clock.add(conn);
    }
    const isOrig = conn.isOrigSender(srcId, srcPort);
    const { origAddr, respAddr } = conn.ends;
    conn.packets++;
    conn.touched = true;
    if (tunnel !== null) conn.addTunnelParent(tunnel);
    const exact = Number.isSafeInteger(t) ? null : d.exactT();
    // Zeek's TCP and UDP analyzers stop at a bad checksum: the connection only notes it.
    if (d.badChecksum && (d.protocol === 6 || d.protocol === 17)) conn.checkHistory(0x4000, 'C', isOrig);
    else this.deliver(conn, d, t, isOrig);
    if (exact !== null && conn.lastT === t) conn.lastExact = exact;
    const r = this.result;
    r.conn = conn;
    r.src = isOrig ? origAddr : respAddr;
    r.dst = isOrig ? respAddr : origAddr;
    r.isOrig = conn.isOrigSender(srcId, srcPort);
    r.fromFirstSender = srcId === conn.firstSenderId && srcPort === conn.firstSenderPort;
    return r;
  }

  /** Retires every connection still open (end of the session). */
  finishAll(): void {
    for (const conn of this.conns.values()) this.onFinished(conn);
    this.conns.clear();
    this.clock.clear();
  }

  /**
   * With maxOpen connections open, one goes before another is made, as under the memory cap of
   * Suricata's flow engine: the first the clock hand finds that Zeek's timers have already
   * expired, else the first without a packet since the hand last passed it (one that had packets
   * gets another lap). Twin: np_track.c make_room.
   */
  private makeRoom(t: number): void {
    for (;;) {
      let next = this.hand?.next();
      if (!next || next.done) {
        this.hand = this.clock.values();
        next = this.hand.next();
        if (next.done) return;
      }
      const conn = next.value;
      if (this.expired(conn, t)) {
        this.finish(conn);
        return;
      }
      if (conn.touched) {
        conn.touched = false;
        continue;
      }
      this.evicted++;
      this.finish(conn);
      return;
    }
  }

  private create(hash: number, d: TrackedPacket, t: number, srcId: AddressId, dstId: AddressId, srcPort: number, dstPort: number): Conn {
    const no = this.created++;
    const uid = this.uids.uid(no);
    const ends = { origId: srcId, origAddr: d.srcText(), origPort: srcPort, respId: dstId, respAddr: d.dstText(), respPort: dstPort };
    const conn = new Conn(no, uid, hash, d.protocol, ends, t);
    conn.origL2 = d.macSrc;
    conn.respL2 = d.macDst;
    // Zeek keys SCTP by addresses only; its Community ID still has the ports of the first packet.
    if (d.protocol === 132) conn.idPorts = [d.srcPort, d.dstPort];
    let flip = false;
    if (d.protocol === 6) {
      const partial = !(d.tcpFlags & TcpFlag.SYN) || (d.tcpFlags & TcpFlag.ACK) !== 0;
      if (partial && isLikelyServerPort(6, srcPort)) {
        // Both plausible servers: flip only for a non-SYN-ACK towards the higher port.
        flip = isLikelyServerPort(6, dstPort) ? !(d.tcpFlags & TcpFlag.SYN) && srcPort < dstPort : true;
      }
      // Whatever the ports, Zeek's TCP analyzer flips a connection whose first packet is a SYN-ACK.
      if ((d.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK)) flip = true;
    } else if (d.protocol === 17) {
      flip = isLikelyServerPort(17, srcPort) && !isLikelyServerPort(17, dstPort);
    }
    if (flip && !isBroadcast(ends.respAddr)) conn.flipRoles();
    conn.app = appAnalyzer(d.protocol, conn.ends.respPort);
    return conn;
  }

  private deliver(conn: Conn, d: TrackedPacket, t: number, isOrig: boolean): void {
    if (conn.tcp) {
      const result = conn.tcp.step(conn, isOrig, d.tcpFlags, d.seq, d.ack, d.window, d.payloadLen);
      if (result & Step.touch) conn.lastT = t;
      if (result & Step.closeComplete && conn.closedAt === null) conn.closedAt = conn.lastT;
    } else if (d.protocol === 17) {
      conn.datagram(isOrig, Math.max(0, (d.udpLength || d.l4Len) - 8), t, 'D');
      this.applicationFlip(conn, d, isOrig);
    } else {
      // ICMP counts payload bytes; a transport Zeek has no analyzer for counts none.
      conn.datagram(isOrig, conn.protocol === 1 || conn.protocol === 58 ? d.payloadLen : 0, t, null);
    }
    // Zeek's ConnSize analyzer sees the packet after the others, with the sender side as it was
    // before any flip this packet caused.
    conn.count(isOrig, d.ipTotalLen);
  }

  /** DNS and NTP analyzers flip a connection whose messages show the roles reversed. */
  private applicationFlip(conn: Conn, d: TrackedPacket, isOrig: boolean): void {
    if (d.appHead < 0) return;
    if (conn.app === 'dns' && conn.dnsFirstMessage && d.payloadLen >= 12) {
      conn.dnsFirstMessage = false;
      const isResponse = (d.appHead & 0x80) !== 0; // the QR bit, in the message's third byte
      if (isResponse && isOrig && !isMulticast(conn.ends.respAddr)) conn.flipRoles();
    } else if (conn.app === 'ntp' && d.payloadLen >= 48) {
      const mode = (d.appHead >> 16) & 0x07;
      if ((mode === 4 && isOrig) || (mode === 3 && !isOrig)) conn.flipRoles();
    }
  }

  /** Would one of Zeek's timers have removed `conn` by time `t`? */
  private expired(conn: Conn, t: number): boolean {
    // Every rule needs at least 5 s without activity, or 5 s since the start of an attempt.
    if (t < conn.lastT + Timeouts.tcpAttempt && t < conn.startT + Timeouts.tcpAttempt) return false;
    const tcp = conn.tcp;
    if (conn.app === 'dns' && t >= nextDnsExpiry(conn.startT, conn.lastT)) return true;
    if (!tcp) {
      const timeout = conn.protocol === 17 ? Timeouts.udpInactivity : conn.protocol === 1 || conn.protocol === 58 ? Timeouts.icmpInactivity : Timeouts.otherInactivity;
      return t >= conn.lastT + timeout;
    }
    if (conn.closedAt !== null && t >= conn.closedAt + Timeouts.tcpClose) return true;
    const { orig, resp } = tcp;
    const handshaking = (s: number) => s === EndpointState.inactive || s === EndpointState.synSent || s === EndpointState.synAckSent;
    if ((orig.state === EndpointState.synSent || orig.state === EndpointState.synAckSent) && resp.state === EndpointState.inactive) {
      return t >= conn.startT + Timeouts.tcpAttempt;
    }
    if (!handshaking(orig.state) || !handshaking(resp.state)) {
      if (t >= conn.lastT + Timeouts.tcpInactivity) return true;
    }
    if ((orig.didClose || resp.didClose) && (orig.state === EndpointState.reset || resp.state === EndpointState.reset || orig.state === EndpointState.inactive || resp.state === EndpointState.inactive)) {
      return t >= nextExpireTick(conn.startT, conn.lastT);
    }
    return false;
  }

  /** Zeek's TCP reuse rule: a new initial SYN on a 5-tuple that already has a connection. */
  private isReuse(conn: Conn, d: TrackedPacket): boolean {
    const tcp = conn.tcp;
    if (!tcp || !(d.tcpFlags & TcpFlag.SYN)) return false;
    let connOrig = tcp.orig;
    if (d.tcpFlags & TcpFlag.ACK) {
      if (tcp.orig.state !== EndpointState.inactive) return false;
      connOrig = tcp.resp;
    }
    if (!(tcp.orig.didClose && tcp.resp.didClose)) {
      if (d.seq === connOrig.startSeq) return false;
      if (!(d.tcpFlags & TcpFlag.ACK) && connOrig.state === EndpointState.synAckSent && tcp.resp.state === EndpointState.inactive && d.seq === tcp.resp.startSeq) return false;
    }
    return true;
  }

  private finish(conn: Conn): void {
    this.conns.delete(conn);
    this.clock.delete(conn);
    this.onFinished(conn);
  }

  /** Retires idle connections every 10 s of session time, so memory tracks open flows only. */
  private sweep(t: number): void {
    this.nextSweep = t + 10 * SECOND;
    for (const conn of this.conns.values()) if (this.expired(conn, t)) this.finish(conn);
  }
}

/** Protocols whose headers carry ports (or ICMP's type and code in their place). */
export const isPorted = (protocol: number) => protocol === 6 || protocol === 17 || protocol === 132 || protocol === 1 || protocol === 58;
/** Protocols Zeek tracks by ports; every other one (SCTP included) is unknown_transport, keyed by addresses. */
const isTracked = (protocol: number) => protocol === 6 || protocol === 17 || protocol === 1 || protocol === 58;

function appAnalyzer(protocol: number, respPort: number): AppAnalyzer {
  if (protocol !== 17) return null;
  if (DNS_PORTS.has(respPort)) return 'dns';
  if (respPort === 123) return 'ntp';
  return null;
}

const isBroadcast = (address: string) => address === '255.255.255.255';
const isMulticast = (address: string) => /^(22[4-9]|23\d)\./.test(address) || address.toLowerCase().startsWith('ff');

/**
 * Zeek's DNS analyzer ends a UDP DNS session idle for dns_session_timeout (10 s): its timer runs
 * at start+10 s and every 10 s after, and expires the session once 9 s have passed without a
 * packet (DNS.cc, ExpireTimer).
 */
function nextDnsExpiry(startT: number, lastT: number): number {
  const period = 10 * SECOND;
  let tick = startT + period;
  if (tick - lastT < period - SECOND) tick += period * Math.ceil((lastT + period - SECOND - tick) / period);
  return tick;
}

/** Zeek checks a half-closed TCP connection at start+5 s, then every 6 s; the first check after linger expires it. */
function nextExpireTick(startT: number, lastT: number): number {
  const first = startT + Timeouts.tcpSynTimeout;
  const due = lastT + Timeouts.tcpLinger;
  if (first > due) return first;
  return first + Timeouts.tcpSessionTimer * (Math.floor((due - first) / Timeouts.tcpSessionTimer) + 1);
}
