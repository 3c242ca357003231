/**
 * Community ID v1 (shared/oracle/community-id/README.md): a direction-free hash of a flow's
 * 5-tuple, so that rows join with Zeek, Suricata and Elastic data.
 */
import { hash } from 'node:crypto';

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
  if (!address.includes(':')) {
    const out = Buffer.allocUnsafe(4);
    let part = 0;
    let i = 0;
    for (let c = 0; c < address.length; c++) {
      const code = address.charCodeAt(c);
      if (code === 46) {
        out[i++] = part;
        part = 0;
      } else part = part * 10 + code - 48;
    }
    out[i] = part;
    return out;
  }
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
  // seed(2) saddr daddr proto(1) pad(1) [sport(2) dport(2)]
  const input = Buffer.allocUnsafe(2 + saddr.length * 2 + 2 + (hasPorts(protocol) ? 4 : 0));
  const seed = options.seed ?? 0;
  input[0] = seed >> 8;
  input[1] = seed & 0xff;
  saddr.copy(input, 2);
  daddr.copy(input, 2 + saddr.length);
  let at = 2 + saddr.length * 2;
  input[at++] = protocol;
  input[at++] = 0;
  if (hasPorts(protocol)) {
    input.writeUInt16BE(sport, at);
    input.writeUInt16BE(dport, at + 2);
  }
  return `1:${hash('sha1', input, options.hex ? 'hex' : 'base64')}`;
}
