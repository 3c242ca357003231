/**
 * Internet checksums (RFC 1071), for `--verify-checksums`: Zeek, run without -C, drops a packet
 * whose IPv4 header checksum is wrong and marks a connection whose TCP or UDP checksum is wrong
 * (history C). Host captures carry checksums the NIC fills in later, hence off by default.
 */
import type { Dissected } from './packet.js';

function sum(b: Uint8Array, at: number, end: number, acc: number): number {
  let i = at;
  for (; i + 1 < end; i += 2) acc += (b[i] << 8) | b[i + 1];
  if (i < end) acc += b[i] << 8;
  return acc;
}

const fold = (acc: number) => {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
};

export const verifyIpv4Header = (b: Uint8Array, at: number, headerLen: number): boolean => fold(sum(b, at, at + headerLen, 0)) === 0xffff;

/**
 * The TCP, UDP, ICMP or ICMPv6 checksum of the packet in `d`, with the pseudo-header where the
 * protocol has one. A packet not captured whole cannot be checked and counts as good, as in Zeek.
 */
export function verifyTransport(d: Dissected, b: Uint8Array): boolean {
  const at = d.l4Offset;
  const end = at + d.l4Len;
  if (end > d.end || d.l4Len < 0) return true;
  if (d.protocol === 17 && d.ipVersion === 4 && d.l4Len >= 8 && ((b[at + 6] << 8) | b[at + 7]) === 0) return true;
  let acc = sum(b, at, end, 0);
  if (d.protocol !== 1) {
    const addressLen = d.ipVersion === 4 ? 4 : 16;
    acc = sum(b, d.srcAt, d.srcAt + addressLen, acc);
    acc = sum(b, d.dstAt, d.dstAt + addressLen, acc);
    acc += d.protocol + d.l4Len;
  }
  return fold(acc) === 0xffff;
}
