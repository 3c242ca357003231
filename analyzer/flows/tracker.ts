/**
 * The connection table: finds each packet's connection (creating it with Zeek's originator
 * choice), drives the per-protocol rules, and retires connections the way Zeek's timers would —
 * inactivity, TCP close and attempt delays, and reuse of a 5-tuple by a new SYN — so that a
 * reused 5-tuple becomes separate rows. Retired connections go to `onFinished` at once, so
 * memory holds only connections that are still open.
 */
import { createHash } from 'node:crypto';
import { TcpFlag, formatAddress, type Dissected } from '../dissect/packet.js';
import { icmpPorts } from './community-id.js';
import { Conn, type AppAnalyzer } from './conn.js';
import { isLikelyServerPort } from './likely-server-ports.js';
import { EndpointState } from './tcp.js';

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

/** Where a packet landed: reused for every packet (no allocation per packet). */
export interface PacketInFlow {
  conn: Conn;
  /** Sent by the originator, as the roles stand after this packet. */
  isOrig: boolean;
  src: string;
  dst: string;
}

export class ConnTracker {
  private readonly conns = new Map<string, Conn>();
  private readonly result: PacketInFlow = { conn: null as unknown as Conn, isOrig: false, src: '', dst: '' };
  private created = 0;
  private nextSweep = 0;

  constructor(
    private readonly sessionId: string,
    private readonly onFinished: (conn: Conn) => void,
  ) {}

  get open(): number {
    return this.conns.size;
  }

  /**
   * Feeds one dissected IP packet at session time `t`; returns its connection, or null for
   * packets that form no connection (not IP, a non-first fragment, a broken transport header).
   * The returned object is reused by the next call.
   */
  packet(d: Dissected, t: number): PacketInFlow | null {
    if (d.ipVersion === 0 || d.fragOffset !== 0 || (d.problem && d.srcPort === 0 && d.icmpType < 0 && isPorted(d.protocol))) return null;
    if (t >= this.nextSweep) this.sweep(t);

    const b = d.data;
    const addrLen = d.ipVersion === 4 ? 4 : 16;
    const srcId = addressId(b, d.srcAt, addrLen);
    const dstId = addressId(b, d.dstAt, addrLen);
    let srcPort = d.srcPort;
    let dstPort = d.dstPort;
    if (d.protocol === 1 || d.protocol === 58) [srcPort, dstPort] = icmpPorts(d.protocol, d.icmpType, d.icmpCode);
    else if (!isPorted(d.protocol)) srcPort = dstPort = 0;

    const forward = srcId < dstId || (srcId === dstId && srcPort <= dstPort);
    const key = forward ? `${d.protocol}|${srcId}|${srcPort}|${dstId}|${dstPort}` : `${d.protocol}|${dstId}|${dstPort}|${srcId}|${srcPort}`;

    let conn = this.conns.get(key);
    if (conn && (this.expired(conn, t) || this.isReuse(conn, d))) {
      this.finish(conn);
      conn = undefined;
    }
    if (!conn) {
      conn = this.create(key, d, t, srcId, dstId, srcPort, dstPort);
      this.conns.set(key, conn);
    }
    const isOrig = conn.isOrigSender(srcId, srcPort);
    const { origAddr, respAddr } = conn.ends;
    conn.packets++;
    this.deliver(conn, d, t, isOrig);
    const r = this.result;
    r.conn = conn;
    r.src = isOrig ? origAddr : respAddr;
    r.dst = isOrig ? respAddr : origAddr;
    r.isOrig = conn.isOrigSender(srcId, srcPort);
    return r;
  }

  /** Retires every connection still open (end of the session). */
  finishAll(): void {
    for (const conn of this.conns.values()) this.onFinished(conn);
    this.conns.clear();
  }

  private create(key: string, d: Dissected, t: number, srcId: string, dstId: string, srcPort: number, dstPort: number): Conn {
    const uid = this.uid(this.created++);
    const ends = {
      origId: srcId, origAddr: formatAddress(d.data, d.srcAt, d.ipVersion), origPort: srcPort,
      respId: dstId, respAddr: formatAddress(d.data, d.dstAt, d.ipVersion), respPort: dstPort,
    };
    const conn = new Conn(uid, key, d.protocol, ends, t);
    let flip = false;
    if (d.protocol === 6) {
      const partial = !(d.tcpFlags & TcpFlag.SYN) || (d.tcpFlags & TcpFlag.ACK) !== 0;
      if (partial && isLikelyServerPort(6, srcPort)) {
        // Both plausible servers: flip only for a non-SYN-ACK towards the higher port.
        flip = isLikelyServerPort(6, dstPort) ? !(d.tcpFlags & TcpFlag.SYN) && srcPort < dstPort : true;
      }
    } else if (d.protocol === 17) {
      flip = isLikelyServerPort(17, srcPort) && !isLikelyServerPort(17, dstPort);
    }
    if (flip && !isBroadcast(ends.respAddr)) conn.flipRoles();
    conn.app = appAnalyzer(d.protocol, conn.ends.respPort);
    return conn;
  }

  private deliver(conn: Conn, d: Dissected, t: number, isOrig: boolean): void {
    if (conn.tcp) {
      const result = conn.tcp.step(conn, isOrig, { flags: d.tcpFlags, seq: d.seq, ack: d.ack, window: d.window, len: d.payloadLen });
      if (result.touch) conn.lastT = t;
      if (result.closeComplete && conn.closedAt === null) conn.closedAt = conn.lastT;
    } else if (d.protocol === 17) {
      conn.datagram(isOrig, Math.max(0, (d.udpLength || d.l4Len) - 8), t, 'D');
      this.applicationFlip(conn, d, isOrig);
    } else {
      conn.datagram(isOrig, d.payloadLen, t, null);
    }
    // Zeek's ConnSize analyzer sees the packet after the others, with the sender side as it was
    // before any flip this packet caused.
    conn.count(isOrig, d.ipTotalLen);
  }

  /** DNS and NTP analyzers flip a connection whose messages show the roles reversed. */
  private applicationFlip(conn: Conn, d: Dissected, isOrig: boolean): void {
    const payload = d.data;
    const at = d.payloadOffset;
    if (conn.app === 'dns' && conn.dnsFirstMessage && d.payloadLen >= 12 && payload.length >= at + 12) {
      conn.dnsFirstMessage = false;
      const isResponse = (payload[at + 2] & 0x80) !== 0;
      if (isResponse && isOrig && !isMulticast(conn.ends.respAddr)) conn.flipRoles();
    } else if (conn.app === 'ntp' && d.payloadLen >= 48 && payload.length > at) {
      const mode = payload[at] & 0x07;
      if ((mode === 4 && isOrig) || (mode === 3 && !isOrig)) conn.flipRoles();
    }
  }

  /** Would one of Zeek's timers have removed `conn` by time `t`? */
  private expired(conn: Conn, t: number): boolean {
    const tcp = conn.tcp;
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
  private isReuse(conn: Conn, d: Dissected): boolean {
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
    this.conns.delete(conn.key);
    this.onFinished(conn);
  }

  /** Retires idle connections every 10 s of session time, so memory tracks open flows only. */
  private sweep(t: number): void {
    this.nextSweep = t + 10 * SECOND;
    for (const conn of this.conns.values()) if (this.expired(conn, t)) this.finish(conn);
  }

  /** Zeek-shaped uid ("C" + 17 base62), derived from the session and creation order: stable across runs. */
  private uid(n: number): string {
    const digest = createHash('sha1').update(`${this.sessionId}/${n}`).digest();
    let value = BigInt(`0x${digest.subarray(0, 13).toString('hex')}`); // 104 bits: 62^17 needs 102
    let out = '';
    for (let i = 0; i < 17; i++) {
      out += BASE62[Number(value % 62n)];
      value /= 62n;
    }
    return `C${out}`;
  }
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const isPorted = (protocol: number) => protocol === 6 || protocol === 17 || protocol === 132 || protocol === 1 || protocol === 58;

function addressId(b: Uint8Array, at: number, length: number): string {
  if (length === 4) return String(((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0);
  return Buffer.from(b.buffer, b.byteOffset + at, 16).toString('hex');
}

function appAnalyzer(protocol: number, respPort: number): AppAnalyzer {
  if (protocol !== 17) return null;
  if (DNS_PORTS.has(respPort)) return 'dns';
  if (respPort === 123) return 'ntp';
  return null;
}

const isBroadcast = (address: string) => address === '255.255.255.255';
const isMulticast = (address: string) => /^(22[4-9]|23\d)\./.test(address) || address.toLowerCase().startsWith('ff');

/** Zeek checks a half-closed TCP connection at start+5 s, then every 6 s; the first check after linger expires it. */
function nextExpireTick(startT: number, lastT: number): number {
  const first = startT + Timeouts.tcpSynTimeout;
  const due = lastT + Timeouts.tcpLinger;
  if (first > due) return first;
  return first + Timeouts.tcpSessionTimer * (Math.floor((due - first) / Timeouts.tcpSessionTimer) + 1);
}
