/**
 * A finished connection as a row of the flows table (schema.sql), whichever tracker followed it
 * (track.ts in TypeScript, track-native.ts in C): what tracking counted, and what its content
 * said (FlowContent).
 */
import { formatAddress } from '../dissect/packet.js';
import { protoName } from '../flows/conn.js';
import type { FlowContent } from '../flows/flow-content.js';

/** What connection tracking knows of a finished connection. */
export interface TrackedFlow {
  uid: string;
  no: number;
  /** Session times of its first and last packets, exact (a bigint past 2^53 ns). */
  start: number | bigint;
  last: number | bigint;
  origAddr: string;
  origPort: number;
  respAddr: string;
  respPort: number;
  protocol: number;
  communityId: string;
  durationNs: number;
  origBytes: number;
  respBytes: number;
  connState: string;
  missedBytes: number;
  history: string;
  origPkts: number;
  origIpBytes: number;
  respPkts: number;
  respIpBytes: number;
  /** MACs of the originator and responder as Zeek prints them, or null. */
  origL2: string | null;
  respL2: string | null;
}

/** A row of the flows table, in its column order. */
export function flowRow(sessionId: string, f: TrackedFlow, content: FlowContent | undefined): unknown[] {
  const hasDuration = f.durationNs > 0;
  const said = (column: keyof typeof contentColumns) => (content ? contentColumns[column](content) : null);
  return [
    sessionId, f.uid, f.no, f.start, f.last, f.origAddr, f.origPort, f.respAddr, f.respPort, protoName(f.protocol),
    hasDuration ? f.durationNs / 1e9 : null, hasDuration ? f.origBytes : null, hasDuration ? f.respBytes : null,
    f.connState, f.missedBytes, f.history || null, f.origPkts, f.origIpBytes, f.respPkts, f.respIpBytes,
    f.protocol, f.communityId, said('tunnel_parents'), f.origL2, f.respL2,
    said('service'), said('server_name'), said('alpn'), said('http_host'),
  ];
}

/** The flows table's columns that what a flow's content said fills, each from its FlowContent. */
export const contentColumns = {
  tunnel_parents: (c: FlowContent) => (c.tunnelParents ? [...c.tunnelParents].sort() : null),
  service: (c: FlowContent) => (c.services.length ? c.services.join(',') : null),
  server_name: (c: FlowContent) => printable(c.serverName),
  alpn: (c: FlowContent) => c.alpn?.map(printable) ?? null,
  http_host: (c: FlowContent) => printable(c.httpHost),
};

const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/**
 * A 48-bit MAC as Zeek prints it (00:d0:03:3b:f4:00), or null: none, or all zeros, which Zeek
 * leaves unset too. From a table of byte texts: two per flow through a regular expression were
 * 4% of the tracking thread.
 */
export function macText(mac: number): string | null {
  if (mac <= 0) return null;
  const high = Math.floor(mac / 2 ** 32);
  const low = mac >>> 0;
  const h = HEX_BYTES;
  return `${h[high >>> 8]}:${h[high & 255]}:${h[low >>> 24]}:${h[(low >>> 16) & 255]}:${h[(low >>> 8) & 255]}:${h[low & 255]}`;
}

/** An address from its words (IPv4 in the first; IPv6 in all four, network order) as the packets table prints it. */
export function addressText(version: number, a: number, b: number, c: number, d: number): string {
  if (version === 4) return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32BE(a >>> 0, 0);
  bytes.writeUInt32BE(b >>> 0, 4);
  bytes.writeUInt32BE(c >>> 0, 8);
  bytes.writeUInt32BE(d >>> 0, 12);
  return formatAddress(bytes, 0, 6);
}

/**
 * A name from the wire as Zeek logs it: bytes outside printable ASCII as \xHH, and the characters
 * that would split a list (',', '[', ']', quotes, backslash) the same way.
 */
function printable(text: string | null): string | null {
  if (text === null) return null;
  return text.replace(/[^\x21-\x7e]|[,[\]'"\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
