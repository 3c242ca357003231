/**
 * Community ID v1 (shared/oracle/community-id/README.md): a direction-free hash of a flow's
 * 5-tuple, so that rows join with Zeek, Suricata and Elastic data.
 */
import { createHash } from 'node:crypto';

/** ICMP types that have a counterpart; others are one-way and keep their code as "port". */
const ICMP4_COUNTERPART: Record<number, number> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17 };
const ICMP6_COUNTERPART: Record<number, number> = {
  128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133, 135: 136, 136: 135, 139: 140, 140: 139, 144: 145, 145: 144,
};

/** Zeek's and the spec's mapping of an ICMP type/code onto a port pair: [srcPort, dstPort, oneWay]. */
export function icmpPorts(protocol: number, type: number, code: number): [number, number, boolean] {
  const counterpart = (protocol === 58 ? ICMP6_COUNTERPART : ICMP4_COUNTERPART)[type];
  return counterpart === undefined ? [type, code, true] : [type, counterpart, false];
}

const hasPorts = (protocol: number) => protocol === 6 || protocol === 17 || protocol === 132 || protocol === 1 || protocol === 58;

/** Address text -> network-order bytes. */
export function addressBytes(address: string): Buffer {
  if (!address.includes(':')) return Buffer.from(address.split('.').map(Number));
  const [head, tail] = address.split('::');
  const words = (s: string | undefined) => (s ? s.split(':') : []);
  const left = words(head);
  const right = tail === undefined ? [] : words(tail);
  const expand = (parts: string[]) => parts.flatMap((p) => (p.includes('.') ? ipv4Words(p) : [parseInt(p, 16)]));
  const l = expand(left);
  const r = expand(right);
  const all = tail === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill(0), ...r];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

const ipv4Words = (dotted: string): number[] => {
  const b = dotted.split('.').map(Number);
  return [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
};

export interface CommunityIdOptions {
  seed?: number;
  /** Hex digest instead of base64 (the spec's --no-base64). */
  hex?: boolean;
}

/**
 * Community ID of a flow. For ICMP/ICMPv6 pass the type as srcPort and the code as dstPort;
 * the mapping to counterpart types is applied here.
 */
export function communityId(
  protocol: number, srcAddr: string, dstAddr: string, srcPort: number, dstPort: number, options: CommunityIdOptions = {},
): string {
  let saddr = addressBytes(srcAddr);
  let daddr = addressBytes(dstAddr);
  let sport = srcPort;
  let dport = dstPort;
  let oneWay = false;
  if (protocol === 1 || protocol === 58) [sport, dport, oneWay] = icmpPorts(protocol, srcPort, dstPort);
  const cmp = Buffer.compare(saddr, daddr);
  if (!oneWay && (cmp > 0 || (cmp === 0 && sport > dport))) {
    [saddr, daddr] = [daddr, saddr];
    [sport, dport] = [dport, sport];
  }
  const head = Buffer.from([(options.seed ?? 0) >> 8, (options.seed ?? 0) & 0xff]);
  const proto = Buffer.from([protocol, 0]);
  const parts = [head, saddr, daddr, proto];
  if (hasPorts(protocol)) parts.push(Buffer.from([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff]));
  const digest = createHash('sha1').update(Buffer.concat(parts)).digest();
  return `1:${options.hex ? digest.toString('hex') : digest.toString('base64')}`;
}
