/**
 * DNS messages (RFC 1035) from UDP payloads and TCP segments: the first question and the
 * answer records netprov joins flows on (A, AAAA, CNAME). Name compression is followed with a
 * hop limit, so a hostile message cannot loop; anything malformed returns null.
 */
import { formatAddress } from '../dissect/packet.js';

export interface DnsMessage {
  id: number;
  isResponse: boolean;
  rcode: string;
  query: string | null;
  qtype: string | null;
  /** Answer data: addresses for A/AAAA, names for CNAME/PTR. */
  answers: string[];
  ttls: number[];
  /** Answer records by owner name: for following CNAME chains to addresses. */
  records: { name: string; type: string; data: string; ttl: number }[];
}

const TYPES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 65: 'HTTPS', 255: 'ANY' };
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

const typeName = (n: number) => TYPES[n] ?? `TYPE${n}`;

/** Reads a possibly compressed name at `at`; returns [name, offset after it] or null. */
function readName(b: Uint8Array, start: number, end: number, at: number): [string, number] | null {
  const labels: string[] = [];
  let offset = at;
  let after = -1;
  for (let hops = 0; hops < 64; hops++) {
    if (offset >= end) return null;
    const len = b[offset];
    if (len === 0) {
      return [labels.join('.').toLowerCase(), after === -1 ? offset + 1 : after];
    }
    if ((len & 0xc0) === 0xc0) {
      if (offset + 1 >= end) return null;
      if (after === -1) after = offset + 2;
      offset = start + (((len & 0x3f) << 8) | b[offset + 1]);
      continue;
    }
    if (len > 63 || offset + 1 + len > end) return null;
    labels.push(String.fromCharCode(...b.subarray(offset + 1, offset + 1 + len)));
    offset += 1 + len;
  }
  return null;
}

/** Parses the DNS message in b[start, end). */
export function parseDns(b: Uint8Array, start: number, end: number): DnsMessage | null {
  if (end - start < 12) return null;
  const u16 = (at: number) => (b[at] << 8) | b[at + 1];
  const flags = u16(start + 2);
  const qdcount = u16(start + 4);
  const ancount = u16(start + 6);
  const message: DnsMessage = {
    id: u16(start), isResponse: (flags & 0x8000) !== 0, rcode: RCODES[flags & 0x0f] ?? `RCODE${flags & 0x0f}`,
    query: null, qtype: null, answers: [], ttls: [], records: [],
  };
  let at = start + 12;
  for (let i = 0; i < qdcount; i++) {
    const name = readName(b, start, end, at);
    if (!name || name[1] + 4 > end) return i === 0 ? null : message;
    if (i === 0) {
      message.query = name[0];
      message.qtype = typeName(u16(name[1]));
    }
    at = name[1] + 4;
  }
  for (let i = 0; i < ancount; i++) {
    const name = readName(b, start, end, at);
    if (!name || name[1] + 10 > end) break;
    const type = u16(name[1]);
    // RFC 2181 §8: a TTL with its top bit set is read as 0.
    const ttl = (b[name[1] + 4] & 0x80) !== 0 ? 0 : ((b[name[1] + 4] << 24) | (b[name[1] + 5] << 16) | (b[name[1] + 6] << 8) | b[name[1] + 7]) >>> 0;
    const rdlen = u16(name[1] + 8);
    const rdata = name[1] + 10;
    if (rdata + rdlen > end) break;
    let data: string | null = null;
    if (type === 1 && rdlen === 4) data = formatAddress(b, rdata, 4);
    else if (type === 28 && rdlen === 16) data = formatAddress(b, rdata, 6);
    else if (type === 5 || type === 12) data = readName(b, start, end, rdata)?.[0] ?? null;
    if (data !== null) {
      message.answers.push(data);
      message.ttls.push(ttl);
      message.records.push({ name: name[0], type: typeName(type), data, ttl });
    }
    at = rdata + rdlen;
  }
  return message;
}
