/**
 * Tunnels, decapsulated as Zeek decapsulates them: IP in IP (4, 41), GRE (with PPTP's enhanced
 * GRE, ERSPAN I/II/III and Aruba's 802.11 in GRE), and in UDP: VXLAN, Geneve, Teredo, AYIYA,
 * GTPv1-U and GRE over UDP. Each decapsulation records the outer layer in `d.tunnels` and
 * dissects the inner packet into the same record, so the record ends holding the innermost
 * packet. Tunnels in UDP keep the outer datagram (Zeek logs that connection too); IP tunnels keep
 * the outer addresses, which name the tunnel in the inner connection's `tunnel_parents`.
 */
import { ETHERTYPE_IP_BY_VERSION, ethernet, ieee80211, pppProtocol } from './link.js';
import { addressId, fail, formatAddress, macAddress, network, resetNetwork, u16, u32, type Dissected } from './packet.js';

export interface OuterDatagram {
  srcId: number | string;
  dstId: number | string;
  srcPort: number;
  dstPort: number;
  ipTotalLen: number;
  l4Len: number;
  payloadLen: number;
  udpLength: number;
  appHead: number;
  /** The carrying frame's MACs (see macAddress), or -1. */
  macSrc: number;
  macDst: number;
}

export interface TunnelLayer {
  /** Zeek's tunnel type: IP, GRE, VXLAN, GENEVE, TEREDO, AYIYA, GTPv1. */
  type: string;
  ipVersion: number;
  src: string;
  dst: string;
  /** The carrying UDP datagram, for tunnels in UDP; null for IP tunnels. */
  udp: OuterDatagram | null;
}

/** Nested tunnels decapsulated at most this deep (Zeek's default max_depth is 2; traces nest 3). */
const MAX_TUNNELS = 4;

/** Not an Ethernet type: "an Ethernet frame follows". */
const ETHERNET = -1;

const PORT = { vxlan: 4789, geneve: 6081, teredo: 3544, ayiya: 5072, gtpu: 2152, greUdp: 4754 };

/** IP protocol 4 or 41 (IP in IP) or 47 (GRE) at d.l4Offset: decapsulates; false if not one. */
export function ipTunnel(d: Dissected, b: Uint8Array): boolean {
  const p = d.protocol;
  if ((p !== 4 && p !== 41 && p !== 47) || d.tunnels.length >= MAX_TUNNELS) return false;
  const at = d.l4Offset;
  const end = Math.min(d.end, at + d.l4Len);
  if (p === 47) {
    const inner = greHeader(d, b, at, end);
    if (inner < 0) return true;
    push(d, b, 'GRE', null);
    if (inner === Infinity) d.noFlow = true;
    else enter(d, end, inner);
    return true;
  }
  push(d, b, 'IP', null);
  d.etherType = p === 4 ? 0x0800 : 0x86dd;
  enter(d, end, at);
  return true;
}

/** A UDP datagram on a tunnel's port whose payload parses as that tunnel: decapsulates. */
export function udpTunnel(d: Dissected, b: Uint8Array): boolean {
  if (d.tunnels.length >= MAX_TUNNELS || d.payloadLen <= 0) return false;
  const at = d.payloadOffset;
  const end = Math.min(d.end, at + d.payloadLen);
  const { srcPort, dstPort } = d;
  let type: string;
  let inner: number;
  if (dstPort === PORT.vxlan) {
    type = 'VXLAN';
    if (end < at + 8 || (b[at] & 0x08) === 0) return false;
    d.etherType = ETHERNET;
    inner = at + 8;
  } else if (dstPort === PORT.geneve) {
    type = 'GENEVE';
    if (end < at + 8 || b[at] >> 6 !== 0) return false;
    inner = at + 8 + (b[at] & 0x3f) * 4;
    const protocol = u16(b, at + 2);
    d.etherType = protocol === 0x6558 ? ETHERNET : protocol;
  } else if (dstPort === PORT.gtpu || srcPort === PORT.gtpu) {
    type = 'GTPv1';
    inner = gtpUser(b, at, end);
    d.etherType = ETHERTYPE_IP_BY_VERSION;
  } else if (dstPort === PORT.ayiya || srcPort === PORT.ayiya) {
    type = 'AYIYA';
    inner = ayiya(b, at, end);
    if (inner >= 0) d.etherType = b[at + 3] === 4 ? 0x0800 : 0x86dd;
  } else if (dstPort === PORT.greUdp) {
    type = 'GRE';
    const udp = snapshotUdp(d, b);
    const gre = greHeader(d, b, at, end);
    if (gre < 0) return (d.problem = null), false;
    // The datagram carrying GRE is a UDP connection of its own; GRE names the inner connections' tunnel.
    push(d, b, 'UDP', udp);
    push(d, b, 'GRE', null);
    if (gre === Infinity) d.noFlow = true;
    else enter(d, end, gre);
    return true;
  } else {
    inner = teredo(b, at, end, srcPort === PORT.teredo || dstPort === PORT.teredo);
    if (inner < 0) return false;
    type = 'TEREDO';
    d.etherType = 0x86dd;
  }
  if (inner < 0 || inner > end) return false;
  push(d, b, type, snapshotUdp(d, b));
  // A Teredo bubble (IPv6, no next header, no payload) keeps the tunnel open and carries nothing.
  if (type === 'TEREDO' && b[inner + 6] === 59 && u16(b, inner + 4) === 0) return (d.noFlow = true);
  if (d.etherType === ETHERNET) {
    enter(d, end, -1);
    const ip = ethernet(d, b, inner);
    if (ip >= 0) network(d, b, ip);
  } else enter(d, end, inner);
  return true;
}


/**
 * A GRE header at `at`; returns the offset of what it carries with d.etherType set, Infinity
 * for a GRE packet that carries nothing to dissect (PPTP's acknowledgement-only packets), or -1
 * (problem set).
 */
function greHeader(d: Dissected, b: Uint8Array, at: number, end: number): number {
  if (end < at + 4) return fail(d, 'truncated GRE header');
  const flags = u16(b, at);
  const protocol = u16(b, at + 2);
  const version = flags & 7;
  let length = 4;
  if (version === 0) {
    if (flags & 0xc000) length += 4; // checksum (and offset) when C or R
    if (flags & 0x2000) length += 4; // key
    if (flags & 0x1000) length += 4; // sequence number
  } else if (version === 1) {
    // PPTP's enhanced GRE: key (payload length, call id) always, then sequence and ack numbers.
    if (protocol !== 0x880b) return fail(d, 'enhanced GRE that does not carry PPP');
    length += 4 + (flags & 0x1000 ? 4 : 0) + (flags & 0x0080 ? 4 : 0);
    if ((flags & 0x1000) === 0 || u16(b, at + 4) === 0) return end < at + length ? fail(d, 'truncated GRE header') : Infinity;
  } else return fail(d, `GRE version ${version} is not dissected`);
  at += length;
  if (end < at) return fail(d, 'truncated GRE header');
  switch (protocol) {
    case 0x0800:
    case 0x86dd:
      d.etherType = protocol;
      return at;
    case 0x6558: // transparent Ethernet bridging
      return ethernet(d, b, at);
    case 0x88be: // ERSPAN type II (with a sequence number) or type I (without, and no header)
      return ethernet(d, b, flags & 0x1000 ? at + 8 : at);
    case 0x22eb: // ERSPAN type III: 12 bytes, and an 8-byte platform subheader when O is set
      if (end < at + 12) return fail(d, 'truncated ERSPAN III header');
      return ethernet(d, b, at + 12 + (b[at + 11] & 1 ? 8 : 0));
    case 0x880b:
      if (end >= at + 2 && b[at] === 0xff && b[at + 1] === 0x03) at += 2;
      return pppProtocol(d, b, at);
    default:
      if (protocol >= 0x8200 && protocol <= 0x82ff) return ieee80211(d, b, at); // Aruba
      return fail(d, `GRE protocol 0x${protocol.toString(16).padStart(4, '0')} is not dissected`);
  }
}

/** GTPv1-U: only G-PDU messages carry user packets; returns their offset or -1. */
function gtpUser(b: Uint8Array, at: number, end: number): number {
  if (end < at + 8) return -1;
  const flags = b[at];
  if (flags >> 5 !== 1 || (flags & 0x10) === 0 || b[at + 1] !== 0xff) return -1;
  let next = at + 8;
  if (flags & 0x07) {
    if (end < next + 4) return -1;
    let extension = flags & 0x04 ? b[next + 3] : 0;
    next += 4;
    for (let n = 0; extension !== 0 && n < 16; n++) {
      if (end < next + 1) return -1;
      const length = b[next] * 4;
      if (length === 0 || end < next + length) return -1;
      extension = b[next + length - 1];
      next += length;
    }
  }
  const version = end > next ? b[next] >> 4 : 0;
  return version === 4 || version === 6 ? next : -1;
}

/** AYIYA: identity and signature of the lengths the header gives; only forwarded IP. */
function ayiya(b: Uint8Array, at: number, end: number): number {
  if (end < at + 8) return -1;
  const next = b[at + 3];
  if ((b[at + 2] & 0x0f) !== 1 || (next !== 4 && next !== 41)) return -1;
  const inner = at + 8 + (1 << (b[at] >> 4)) + (b[at + 1] >> 4) * 4;
  return inner < end ? inner : -1;
}

/**
 * Teredo: optional authentication and origin indication, then an IPv6 packet that fills the
 * datagram. Off port 3544 (Zeek finds such servers by signature) an address in 2001:0::/32 is
 * also required, so that ordinary UDP payloads are not taken for Teredo.
 */
function teredo(b: Uint8Array, at: number, end: number, onPort: boolean): number {
  let next = at;
  if (end >= next + 4 && b[next] === 0 && b[next + 1] === 1) next += 4 + b[next + 2] + b[next + 3] + 9;
  if (end >= next + 8 && b[next] === 0 && b[next + 1] === 0) next += 8;
  if (end < next + 40 || b[next] >> 4 !== 6) return -1;
  if (next + 40 + u16(b, next + 4) !== end) return -1;
  const teredoPrefix = (a: number) => u32(b, a) === 0x20010000;
  if (!onPort && !teredoPrefix(next + 8) && !teredoPrefix(next + 24)) return -1;
  return next;
}

function snapshotUdp(d: Dissected, b: Uint8Array): OuterDatagram {
  const at = d.payloadOffset;
  return {
    srcId: addressId(b, d.srcAt, d.ipVersion),
    dstId: addressId(b, d.dstAt, d.ipVersion),
    srcPort: d.srcPort,
    dstPort: d.dstPort,
    ipTotalLen: d.ipTotalLen,
    l4Len: d.l4Len,
    payloadLen: d.payloadLen,
    udpLength: d.udpLength,
    appHead: d.payloadLen >= 3 && d.end >= at + 3 ? (b[at] << 16) | (b[at + 1] << 8) | b[at + 2] : -1,
    macSrc: d.macAt < 0 ? -1 : macAddress(b, d.macAt + 6),
    macDst: macAddress(b, d.macAt),
  };
}

function push(d: Dissected, b: Uint8Array, type: string, udp: OuterDatagram | null): void {
  d.tunnels.push({ type, ipVersion: d.ipVersion, src: formatAddress(b, d.srcAt, d.ipVersion), dst: formatAddress(b, d.dstAt, d.ipVersion), udp });
}

/**
 * Clears the outer packet's network fields, which the inner packet's replace, and dissects the
 * inner packet at `at` (of d.etherType) unless `at` is -1 (the caller reads a link header first).
 */
function enter(d: Dissected, end: number, at: number): void {
  d.end = Math.min(d.end, end);
  resetNetwork(d);
  if (at >= 0) network(d, d.data, at);
}
