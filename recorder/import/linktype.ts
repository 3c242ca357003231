/** The link types netprov dissects, and what a link-layer header says about direction. */
import { Direction, type DirectionCode, type SessionEvent } from '../session/events.js';

export const LinkType = {
  null: 0, ethernet: 1, ppp: 9, pppHdlc: 50, raw: 101, ieee80211: 105, ciscoHdlc: 104, frameRelay: 107, loop: 108, linuxSll: 113,
  radiotap: 127, pktapApple: 149, ipv4: 228, ipv6: 229, pktap: 258, linuxSll2: 276,
} as const;

const names: Record<number, string> = {
  0: 'BSD loopback',
  1: 'Ethernet',
  9: 'PPP',
  50: 'PPP in HDLC',
  101: 'raw IP',
  104: 'Cisco HDLC',
  105: '802.11',
  107: 'Frame Relay',
  108: 'OpenBSD loopback',
  113: 'Linux SLL',
  127: '802.11 with radiotap',
  149: 'Apple PKTAP',
  228: 'raw IPv4',
  229: 'raw IPv6',
  258: 'PKTAP',
  276: 'Linux SLL2',
};
export const linkTypeName = (linkType: number): string => names[linkType] ?? `link type ${linkType}`;
/** Whether netprov's dissectors read packets of this link type. */
export const isDissected = (linkType: number): boolean => linkType in names;

/** Linux cooked captures record the packet type: 4 (PACKET_OUTGOING) is ours, the rest came in. */
export function directionFromLinkHeader(linkType: number, data: Uint8Array): DirectionCode {
  return directionAt(linkType, data, 0, data.length);
}

/** The same for a packet of `length` bytes at `at` in `bytes`. */
export function directionAt(linkType: number, bytes: Uint8Array, at: number, length: number): DirectionCode {
  if (linkType === LinkType.linuxSll && length >= 2) return bytes[at + 1] === 4 && bytes[at] === 0 ? Direction.out : Direction.in;
  if (linkType === LinkType.linuxSll2 && length >= 11) return bytes[at + 10] === 4 ? Direction.out : Direction.in;
  return Direction.unknown;
}

/**
 * Packets on interfaces whose link type netprov does not dissect, counted as events go by
 * (import and inspect), so that a capture of such a link says so in one line instead of
 * leaving a silent "0 flows".
 */
export class UndissectedLinkTypes {
  private readonly linkTypes = new Map<number, number>();
  private readonly packets = new Map<number, number>();

  observe(event: SessionEvent): void {
    if (event.kind === 'interface') this.linkTypes.set(event.id, event.linkType);
    else if (event.kind === 'packet') {
      const linkType = this.linkTypes.get(event.interfaceId);
      if (linkType !== undefined && !isDissected(linkType)) this.packets.set(linkType, (this.packets.get(linkType) ?? 0) + 1);
    }
  }

  /** One line per link type, e.g. "1,204 packets on link type 147 will not be dissected". */
  lines(): string[] {
    return [...this.packets].sort(([a], [b]) => a - b).map(([linkType, n]) => `${n.toLocaleString('en-US')} packets on link type ${linkType} will not be dissected`);
  }
}
