/**
 * Packet dissection: link layer (link.ts) -> IP -> transport, through tunnels (tunnels.ts), into
 * one reused record so that dissecting millions of packets allocates nothing per packet (a
 * tunnelled packet allocates its tunnel layers). Offsets point into the packet's bytes; the
 * caller formats addresses only when it needs them (once per flow, not once per packet).
 *
 * A malformed or truncated packet is never an error: `problem` says what was wrong and every
 * field read before the problem is kept.
 */
import { verifyIpv4Header, verifyTransport } from './checksum.js';
import { ETHERTYPE_IP_BY_VERSION, linkLayer } from './link.js';
import { ipTunnel, udpTunnel, type TunnelLayer } from './tunnels.js';

export const TcpFlag = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 } as const;

export interface Dissected {
  /** Drop packets whose IPv4 header checksum is wrong and flag bad transport checksums (Zeek without -C). Set once by the caller. */
  verifyChecksums: boolean;
  /** The bytes the packet lies in, and where it ends in them; offsets below index `data`. */
  data: Uint8Array;
  end: number;
  /** Ethertype after VLAN tags and cooked headers (0x0800, 0x86dd, 0x0806, ...); 0 if unknown. */
  etherType: number;
  vlan: number | null;
  /** Offset of the Ethernet header (destination, then source MAC) the innermost IP packet came in, or -1. */
  macAt: number;
  /** The tunnels the packet came through, outermost first; the fields below are the innermost packet's. */
  tunnels: TunnelLayer[];
  /** A tunnel's own packet that carries no inner packet (PPTP acknowledgements): part of no flow. */
  noFlow: boolean;
  /** 4 or 6 when an IP header was read, else 0. */
  ipVersion: number;
  ipOffset: number;
  /** Offsets of the source and destination address bytes (4 or 16 long). */
  srcAt: number;
  dstAt: number;
  /**
   * Total IP length as Zeek's IP byte counts use it: IPv4's total length (the captured length
   * when the header says 0, as TCP segmentation offload leaves it), IPv6's payload length + 40
   * (the jumbo payload length for a jumbogram).
   */
  ipTotalLen: number;
  ttl: number;
  /** Transport protocol number after IPv6 extension headers. */
  protocol: number;
  /** IPv4 identification, for fragment reassembly. */
  ipId: number;
  fragOffset: number;
  moreFragments: boolean;
  /** Offset of the transport header and its length per the IP header (not what was captured). */
  l4Offset: number;
  l4Len: number;
  srcPort: number;
  dstPort: number;
  /** ICMP type and code (also in srcPort/dstPort's place for flow keys, see flows/). */
  icmpType: number;
  icmpCode: number;
  tcpFlags: number;
  seq: number;
  ack: number;
  window: number;
  /** UDP length field (header + payload), as Zeek counts UDP bytes; 0 for other protocols. */
  udpLength: number;
  /** Transport payload: offset and length per the headers. */
  payloadOffset: number;
  payloadLen: number;
  /** The transport checksum was checked (verifyChecksums) and is wrong. */
  badChecksum: boolean;
  /** What was wrong, or null. */
  problem: string | null;
}

/** A Dissected to reuse packet after packet; its fields start as `reset` leaves them. */
export function newDissected(verifyChecksums = false): Dissected {
  const d = { verifyChecksums, tunnels: [] as TunnelLayer[] } as Dissected;
  reset(d, new Uint8Array(0), 0);
  return d;
}

function reset(d: Dissected, data: Uint8Array, end: number): void {
  d.data = data;
  d.end = end;
  d.etherType = 0;
  d.vlan = null;
  if (d.tunnels.length) d.tunnels = [];
  d.noFlow = false;
  d.problem = null;
  resetNetwork(d);
}

/** Clears what the network and transport headers set (a tunnel's inner packet replaces them). */
export function resetNetwork(d: Dissected): void {
  d.ipVersion = 0;
  d.ipOffset = 0;
  d.srcAt = 0;
  d.dstAt = 0;
  d.ipTotalLen = 0;
  d.ttl = 0;
  d.protocol = -1;
  d.ipId = 0;
  d.fragOffset = 0;
  d.moreFragments = false;
  d.l4Offset = 0;
  d.l4Len = 0;
  d.srcPort = 0;
  d.dstPort = 0;
  d.icmpType = -1;
  d.icmpCode = -1;
  d.tcpFlags = 0;
  d.seq = 0;
  d.ack = 0;
  d.window = 0;
  d.udpLength = 0;
  d.payloadOffset = 0;
  d.payloadLen = 0;
  d.badChecksum = false;
  d.macAt = -1;
}

export const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
export const u32 = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/**
 * Dissects the packet in data[start, end), captured on a link of `linkType`, into `d`. Taking a
 * range rather than a subarray lets a decoder hand over packets inside a larger buffer (a whole
 * session chunk) without an object per packet.
 */
export function dissect(d: Dissected, linkType: number, data: Uint8Array, start = 0, end = data.length): void {
  reset(d, data, end);
  const at = linkLayer(d, linkType, data, start);
  if (at >= 0) network(d, data, at);
}

/** The network header at `at`, of the type in d.etherType. */
export function network(d: Dissected, b: Uint8Array, at: number): void {
  let type = d.etherType;
  if (type === ETHERTYPE_IP_BY_VERSION) {
    const version = d.end > at ? b[at] >> 4 : 0;
    type = version === 4 ? 0x0800 : version === 6 ? 0x86dd : 0;
    d.etherType = type;
    if (type === 0) return void fail(d, `IP version ${version} is not dissected`);
  }
  if (type === 0x0800) ipv4(d, b, at);
  else if (type === 0x86dd) ipv6(d, b, at);
}

export function fail(d: Dissected, problem: string): -1 {
  d.problem = problem;
  return -1;
}

function ipv4(d: Dissected, b: Uint8Array, at: number): void {
  if (d.end < at + 20) return void fail(d, 'truncated IPv4 header');
  const ihl = (b[at] & 0x0f) * 4;
  if (b[at] >> 4 !== 4 || ihl < 20) return void fail(d, 'bad IPv4 version or header length');
  if (d.end < at + ihl) return void fail(d, 'truncated IPv4 options');
  if (d.verifyChecksums && !verifyIpv4Header(b, at, ihl)) return void fail(d, 'bad IPv4 header checksum');
  d.ipVersion = 4;
  d.ipOffset = at;
  d.ipTotalLen = u16(b, at + 2);
  // TCP segmentation offload leaves 0 here in captures taken on the sender; Zeek (ignoring
  // checksums) and Wireshark then take the captured length.
  if (d.ipTotalLen === 0 && !d.verifyChecksums) d.ipTotalLen = d.end - at;
  d.ipId = u16(b, at + 4);
  const frag = u16(b, at + 6);
  d.moreFragments = (frag & 0x2000) !== 0;
  d.fragOffset = (frag & 0x1fff) * 8;
  d.ttl = b[at + 8];
  d.protocol = b[at + 9];
  d.srcAt = at + 12;
  d.dstAt = at + 16;
  if (d.ipTotalLen < ihl) return void fail(d, 'IPv4 total length shorter than its header');
  d.l4Offset = at + ihl;
  d.l4Len = d.ipTotalLen - ihl;
  // Only the first fragment carries the transport header.
  if (d.fragOffset === 0 && !d.moreFragments && ipTunnel(d, b)) return;
  if (d.fragOffset === 0) transport(d, b);
}

/** Extension headers that netprov walks past to find the transport protocol. */
const IPV6_EXTENSIONS = new Set([0, 43, 60, 135, 139, 140, 253, 254]);

function ipv6(d: Dissected, b: Uint8Array, at: number): void {
  if (d.end < at + 40) return void fail(d, 'truncated IPv6 header');
  if (b[at] >> 4 !== 6) return void fail(d, 'bad IPv6 version');
  d.ipVersion = 6;
  d.ipOffset = at;
  let payloadLen = u16(b, at + 4);
  d.ttl = b[at + 7];
  d.srcAt = at + 8;
  d.dstAt = at + 24;
  let next = b[at + 6];
  let offset = at + 40;
  if (payloadLen === 0 && next === 0) payloadLen = jumboPayloadLength(d, b, offset);
  d.ipTotalLen = payloadLen + 40;
  for (let n = 0; n < 16; n++) {
    if (next === 44) {
      // Fragment header: 8 bytes.
      if (d.end < offset + 8) return void fail(d, 'truncated IPv6 fragment header');
      const frag = u16(b, offset + 2);
      d.fragOffset = frag & 0xfff8;
      d.moreFragments = (frag & 1) === 1;
      d.ipId = u32(b, offset + 4);
      next = b[offset];
      offset += 8;
      continue;
    }
    if (!IPV6_EXTENSIONS.has(next) && next !== 51) break;
    if (d.end < offset + 2) return void fail(d, 'truncated IPv6 extension header');
    const length = next === 51 ? (b[offset + 1] + 2) * 4 : (b[offset + 1] + 1) * 8;
    next = b[offset];
    offset += length;
  }
  d.protocol = next;
  d.l4Offset = offset;
  d.l4Len = at + 40 + payloadLen - offset;
  if (d.l4Len < 0) return void fail(d, 'IPv6 extension headers longer than the payload');
  if (d.fragOffset === 0 && !d.moreFragments && ipTunnel(d, b)) return;
  if (d.fragOffset === 0) transport(d, b);
}

/** RFC 2675: a payload length of 0 with a Jumbo Payload option in the hop-by-hop header. */
function jumboPayloadLength(d: Dissected, b: Uint8Array, at: number): number {
  if (d.end < at + 2) return 0;
  const end = Math.min(d.end, at + (b[at + 1] + 1) * 8);
  for (let o = at + 2; o + 1 < end; ) {
    const type = b[o];
    if (type === 0) {
      o++;
      continue;
    }
    if (type === 0xc2 && b[o + 1] === 4 && o + 6 <= end) return u32(b, o + 2);
    o += 2 + b[o + 1];
  }
  return 0;
}

function transport(d: Dissected, b: Uint8Array): void {
  const at = d.l4Offset;
  switch (d.protocol) {
    case 6: {
      if (d.end < at + 20) return void fail(d, 'truncated TCP header');
      d.srcPort = u16(b, at);
      d.dstPort = u16(b, at + 2);
      d.seq = u32(b, at + 4);
      d.ack = u32(b, at + 8);
      const headerLen = (b[at + 12] >> 4) * 4;
      d.tcpFlags = b[at + 13];
      d.window = u16(b, at + 14);
      if (headerLen < 20) return void fail(d, 'bad TCP header length');
      d.payloadOffset = at + headerLen;
      d.payloadLen = Math.max(0, d.l4Len - headerLen);
      if (d.verifyChecksums && !verifyTransport(d, b)) d.badChecksum = true;
      return;
    }
    case 17:
    case 132: {
      if (d.end < at + (d.protocol === 17 ? 8 : 12)) return void fail(d, d.protocol === 17 ? 'truncated UDP header' : 'truncated SCTP header');
      d.srcPort = u16(b, at);
      d.dstPort = u16(b, at + 2);
      const headerLen = d.protocol === 17 ? 8 : 12;
      if (d.protocol === 17) d.udpLength = u16(b, at + 4);
      d.payloadOffset = at + headerLen;
      d.payloadLen = Math.max(0, d.l4Len - headerLen);
      if (d.verifyChecksums && d.protocol === 17 && !verifyTransport(d, b)) d.badChecksum = true;
      else if (d.protocol === 17) udpTunnel(d, b);
      return;
    }
    case 1:
    case 58:
      if (d.end < at + 2) return void fail(d, 'truncated ICMP header');
      d.icmpType = b[at];
      d.icmpCode = b[at + 1];
      d.payloadOffset = at + 8;
      d.payloadLen = Math.max(0, d.l4Len - 8);
      if (d.verifyChecksums && !verifyTransport(d, b)) d.badChecksum = true;
      return;
    default:
      d.payloadOffset = at;
      d.payloadLen = d.l4Len;
  }
}

/** The 48-bit MAC address at `at` as a number (exact in a double), or -1 for `at` -1. */
export const macAddress = (b: Uint8Array, at: number): number => (at < 0 ? -1 : u16(b, at) * 2 ** 32 + u32(b, at + 2));

/** An address as connection tracking keys it: IPv4 as a number (see AddressId), IPv6 as 32 hex digits. */
export function addressId(b: Uint8Array, at: number, version: number): number | string {
  if (version === 4) return u32(b, at) | 0;
  let hex = '';
  for (let i = 0; i < 16; i += 4) hex += u32(b, at + i).toString(16).padStart(8, '0');
  return hex;
}

/** Text form of the address at `at` (4 bytes IPv4, 16 bytes IPv6, RFC 5952 compression). */
export function formatAddress(b: Uint8Array, at: number, version: number): string {
  if (version === 4) return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(u16(b, at + i));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
