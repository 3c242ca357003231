/**
 * Link layers and the encapsulations that sit between a link header and IP without being
 * tunnels of their own (Zeek logs no connection and no tunnel for them): VLAN and QinQ tags,
 * MPLS, PPPoE, VN-Tag, 802.1ah PBB, Cisco FabricPath, MACsec without encryption, NSH, LLC/SNAP,
 * 802.11 data frames (with or without radiotap), PPP, Cisco HDLC, Frame Relay, Apple PKTAP.
 *
 * Each reader sets `d.etherType` to what follows (ETHERTYPE_IP_BY_VERSION where only the IP
 * version nibble says) and returns its offset, or -1 with `d.problem` set.
 */
import { LinkType } from '../../recorder/import/linktype.js';
import { fail, u16, type Dissected } from './packet.js';

/** Not an Ethernet type: "an IP header of the version its first nibble says follows". */
export const ETHERTYPE_IP_BY_VERSION = 0x10000;

/** Nested headers read at most this deep: a hostile packet cannot make dissection loop. */
const MAX_HEADERS = 16;

export function linkLayer(d: Dissected, linkType: number, b: Uint8Array, start: number): number {
  const length = d.end - start;
  switch (linkType) {
    case LinkType.ethernet:
      return ethernet(d, b, start);
    case LinkType.linuxSll:
      if (length < 16) return fail(d, 'truncated Linux SLL header');
      return etherPayload(d, b, start + 14);
    case LinkType.linuxSll2:
      if (length < 20) return fail(d, 'truncated Linux SLL2 header');
      d.etherType = u16(b, start);
      return start + 20;
    case LinkType.null:
    case LinkType.loop: {
      if (length < 4) return fail(d, 'truncated loopback header');
      // DLT_NULL stores the address family in the capturing host's byte order; LOOP in network order.
      const le = b[start] | (b[start + 1] << 8) | (b[start + 2] << 16) | (b[start + 3] << 24);
      const be = ((b[start] << 24) | (b[start + 1] << 16) | (b[start + 2] << 8) | b[start + 3]) >>> 0;
      const family = linkType === LinkType.loop ? be : le < 256 ? le : be;
      d.etherType = family === 2 ? 0x0800 : family === 24 || family === 28 || family === 30 ? 0x86dd : 0;
      if (d.etherType === 0) return fail(d, `loopback address family ${family} is not IP`);
      return start + 4;
    }
    case LinkType.raw:
    case LinkType.ipv4:
    case LinkType.ipv6:
      if (length < 1) return fail(d, 'empty packet');
      d.etherType = ETHERTYPE_IP_BY_VERSION;
      return start;
    case LinkType.ppp:
      return ppp(d, b, start);
    case LinkType.pppHdlc:
    case LinkType.ciscoHdlc:
      // PPP in HDLC framing and Cisco HDLC share the layout address, control, protocol; Cisco's
      // protocol field is an Ethernet type, PPP's a PPP protocol number.
      if (length < 4) return fail(d, 'truncated HDLC header');
      if (b[start] === 0xff && b[start + 1] === 0x03) return pppProtocol(d, b, start + 2);
      d.etherType = u16(b, start + 2);
      return start + 4;
    case LinkType.frameRelay:
      return frameRelay(d, b, start);
    case LinkType.ieee80211:
      return ieee80211(d, b, start);
    case LinkType.radiotap: {
      if (length < 4) return fail(d, 'truncated radiotap header');
      const headerLen = b[start + 2] | (b[start + 3] << 8);
      if (headerLen < 8 || length < headerLen) return fail(d, 'truncated radiotap header');
      return ieee80211(d, b, start + headerLen);
    }
    case LinkType.pktap:
    case LinkType.pktapApple:
      return pktap(d, b, start);
    default:
      return fail(d, `link type ${linkType} is not dissected`);
  }
}

/** An Ethernet frame starting at `at` (destination MAC). */
export function ethernet(d: Dissected, b: Uint8Array, at: number): number {
  if (d.end < at + 14) return fail(d, 'truncated Ethernet header');
  d.macAt = at;
  return etherPayload(d, b, at + 12);
}

/**
 * From an Ethernet type field at `at`, through every tag and shim header, to the network
 * header; returns its offset with `d.etherType` saying what it is.
 */
function etherPayload(d: Dissected, b: Uint8Array, at: number): number {
  for (let n = 0; n < MAX_HEADERS; n++) {
    if (d.end < at + 2) return fail(d, 'truncated Ethernet type');
    const type = u16(b, at);
    switch (type) {
      case 0x8100: // 802.1Q
      case 0x88a8: // 802.1ad (QinQ outer)
      case 0x9100: // QinQ, pre-standard
        if (d.end < at + 6) return fail(d, 'truncated VLAN tag');
        if (d.vlan === null) d.vlan = u16(b, at + 2) & 0x0fff;
        at += 4;
        continue;
      case 0x8926: // VN-Tag: 4 bytes of tag
        at += 6;
        continue;
      case 0x88e7: // 802.1ah PBB: I-TAG, then the customer's destination and source MACs
        at += 2 + 4 + 12;
        continue;
      case 0x8903: // Cisco FabricPath: FTag/TTL, then the inner frame's MACs
        at += 2 + 2 + 12;
        continue;
      case 0x88e5: {
        // MACsec SecTAG: TCI/AN, short length, packet number, and an SCI when the SC bit is set.
        if (d.end < at + 8) return fail(d, 'truncated MACsec SecTAG');
        const tci = b[at + 2];
        if (tci & 0x0c) return fail(d, 'MACsec payload is encrypted');
        at += 8 + (tci & 0x20 ? 8 : 0);
        continue;
      }
      case 0x8847: // MPLS unicast
      case 0x8848: // MPLS multicast
        return mpls(d, b, at + 2);
      case 0x8864: // PPPoE session: version/type, code, session id, length, then PPP
        if (d.end < at + 10) return fail(d, 'truncated PPPoE header');
        return pppProtocol(d, b, at + 8);
      case 0x894f:
        return nsh(d, b, at + 2);
      default:
        if (type < 0x0600) {
          // 802.3 length field: only LLC/SNAP carries a type.
          if (d.end >= at + 10 && b[at + 2] === 0xaa && b[at + 3] === 0xaa && b[at + 4] === 0x03) {
            at += 8;
            continue;
          }
          return fail(d, '802.3 frame without SNAP header');
        }
        d.etherType = type;
        return at + 2;
    }
  }
  return fail(d, 'too many nested link headers');
}

/** MPLS labels from `at` to the bottom of the stack; what follows is IP by its version nibble. */
function mpls(d: Dissected, b: Uint8Array, at: number): number {
  for (let n = 0; n < MAX_HEADERS; n++) {
    if (d.end < at + 4) return fail(d, 'truncated MPLS label');
    const bottom = (b[at + 2] & 1) === 1;
    at += 4;
    if (bottom) {
      d.etherType = ETHERTYPE_IP_BY_VERSION;
      return at;
    }
  }
  return fail(d, 'MPLS label stack too deep');
}

/** Network Service Header: its length is in 4-byte words; the next protocol names what follows. */
function nsh(d: Dissected, b: Uint8Array, at: number): number {
  if (d.end < at + 8) return fail(d, 'truncated NSH header');
  const length = (b[at + 1] & 0x3f) * 4;
  if (length < 8) return fail(d, 'bad NSH header length');
  const next = b[at + 3];
  at += length;
  switch (next) {
    case 1:
      d.etherType = 0x0800;
      return at;
    case 2:
      d.etherType = 0x86dd;
      return at;
    case 3:
      return ethernet(d, b, at);
    case 5:
      return mpls(d, b, at);
    default:
      return fail(d, `NSH next protocol ${next} is not dissected`);
  }
}

/** PPP with its optional address/control bytes (DLT_PPP). */
function ppp(d: Dissected, b: Uint8Array, at: number): number {
  if (d.end < at + 2) return fail(d, 'truncated PPP header');
  if (b[at] === 0xff && b[at + 1] === 0x03) at += 2;
  return pppProtocol(d, b, at);
}

/** A PPP protocol field (one byte when compressed: an odd first byte) at `at`. */
export function pppProtocol(d: Dissected, b: Uint8Array, at: number): number {
  if (d.end < at + 1) return fail(d, 'truncated PPP protocol');
  let protocol = b[at];
  if (protocol & 1) at += 1;
  else {
    if (d.end < at + 2) return fail(d, 'truncated PPP protocol');
    protocol = u16(b, at);
    at += 2;
  }
  if (protocol === 0x21) d.etherType = 0x0800;
  else if (protocol === 0x57) d.etherType = 0x86dd;
  else return fail(d, `PPP protocol 0x${protocol.toString(16).padStart(4, '0')} is not IP`);
  return at;
}

/** Frame Relay: a Q.922 address, then RFC 2427 encapsulation (NLPID, or SNAP). */
function frameRelay(d: Dissected, b: Uint8Array, at: number): number {
  if (d.end < at + 4) return fail(d, 'truncated Frame Relay header');
  at += 2;
  if (b[at] !== 0x03) return fail(d, 'Frame Relay frame is not unnumbered information');
  at += 1;
  if (b[at] === 0x00) at += 1; // padding before the NLPID
  const nlpid = b[at];
  if (nlpid === 0xcc) d.etherType = 0x0800;
  else if (nlpid === 0x8e) d.etherType = 0x86dd;
  else if (nlpid === 0x80) return d.end < at + 6 ? fail(d, 'truncated Frame Relay SNAP header') : etherPayload(d, b, at + 4);
  else return fail(d, `Frame Relay NLPID 0x${nlpid.toString(16)} is not IP`);
  return at + 1;
}

/**
 * An 802.11 frame: only data frames carry IP, after a header whose length the frame control
 * says (a fourth address, QoS control, HT control) and LLC/SNAP. Of an A-MSDU the first
 * subframe is read.
 */
export function ieee80211(d: Dissected, b: Uint8Array, at: number): number {
  if (d.end < at + 24) return fail(d, 'truncated 802.11 header');
  const fc0 = b[at];
  const fc1 = b[at + 1];
  if (((fc0 >> 2) & 3) !== 2) return fail(d, '802.11 frame is not a data frame');
  const subtype = fc0 >> 4;
  if (subtype & 0x4) return fail(d, '802.11 data frame without data');
  if (fc1 & 0x40) return fail(d, '802.11 frame is encrypted');
  let length = 24;
  if ((fc1 & 3) === 3) length += 6;
  let amsdu = false;
  if (subtype & 0x8) {
    if (d.end < at + length + 2) return fail(d, 'truncated 802.11 QoS control');
    amsdu = (b[at + length] & 0x80) !== 0;
    length += 2;
    if (fc1 & 0x80) length += 4;
  }
  at += length;
  if (amsdu) at += 14;
  if (d.end < at + 8) return fail(d, 'truncated 802.11 LLC header');
  if (b[at] !== 0xaa || b[at + 1] !== 0xaa || b[at + 2] !== 0x03) return fail(d, '802.11 frame without SNAP header');
  return etherPayload(d, b, at + 6);
}

/**
 * Apple's PKTAP header (`tcpdump -i pktap`), little-endian as macOS writes it: its length,
 * then the link type of the packet behind it. The importer reads its process fields.
 */
function pktap(d: Dissected, b: Uint8Array, at: number): number {
  const header = pktapHeaderLength(b, at, d.end);
  if (header < 0) return fail(d, 'truncated PKTAP header');
  const inner = b[at + 8] | (b[at + 9] << 8) | (b[at + 10] << 16) | (b[at + 11] << 24);
  if (inner === LinkType.pktap || inner === LinkType.pktapApple) return fail(d, 'PKTAP inside PKTAP');
  return linkLayer(d, inner, b, at + header);
}

/** The length of the PKTAP header at `at`, or -1 if it does not fit before `end`. */
export function pktapHeaderLength(b: Uint8Array, at: number, end: number): number {
  if (end < at + 12) return -1;
  const length = (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
  return length < 12 || length > end - at ? -1 : length;
}
