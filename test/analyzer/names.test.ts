/**
 * The names netprov reads from payloads — TLS server_name and ALPN from ClientHellos (over TCP,
 * also split across segments, and inside QUIC v1/v2 Initials, decrypted), HTTP/1 Host — agree
 * with tshark's dissectors on every vendored trace where tshark finds a ClientHello or an HTTP
 * request: each name tshark reads is on the flow of its packet, and netprov names no flow tshark
 * does not.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { flowRecords } from '../../analyzer/output/conn-log.js';
import { importFiles } from '../../recorder/import/index.js';
import { oraclePcaps, scratch, corpusTraces } from '../helpers/paths.js';

interface Names {
  serverName?: string;
  alpn?: string;
  httpHost?: string;
}

const last = (list: string) => list.split(',').pop() ?? '';

const FIELDS = [
  'ip.src', 'ipv6.src', 'tcp.srcport', 'udp.srcport', 'ip.dst', 'ipv6.dst', 'tcp.dstport', 'udp.dstport',
  'tls.handshake.type', 'tls.handshake.extensions_server_name', 'tls.handshake.extensions_alpn_str', 'http.request', 'http.host',
];

/** tshark's names by the 4-tuple of the packet that carried them, the first of each kind. */
async function readTsharkNames(trace: string): Promise<Map<string, Names>> {
  const { stdout } = await promisify(execFile)('tshark', [
    '-n', '-r', trace, '-o', 'teredo.heuristic_teredo:TRUE', // Teredo off its well-known port, as netprov (and Zeek) decapsulate it
    '-Y', 'tls.handshake.type == 1 || http.request', '-T', 'fields', ...FIELDS.flatMap((f) => ['-e', f]),
  ], { maxBuffer: 1 << 26 });
  const rows = stdout.split('\n').filter(Boolean).map((line) => line.split('\t'));
  const names = new Map<string, Names>();
  for (const [src4, src6, tcpSrc, udpSrc, dst4, dst6, tcpDst, udpDst, handshake, sni, alpn, request, host] of rows) {
    // Inside tunnels tshark lists every layer's address: the innermost is the flow's.
    const key = [last(src6 || src4), last(tcpSrc || udpSrc), last(dst6 || dst4), last(tcpDst || udpDst)].join(' ');
    const entry = names.get(key) ?? {};
    if (handshake.split(',').includes('1')) {
      entry.serverName ??= sni ? sni.split(',')[0].toLowerCase() : undefined;
      entry.alpn ??= alpn || undefined;
    }
    if (request && host) entry.httpHost ??= host.split(',')[0].toLowerCase();
    if (entry.serverName || entry.alpn || entry.httpHost) names.set(key, entry);
  }
  return names;
}

async function netprovNames(trace: string): Promise<Map<string, Names>> {
  const session = join(scratch(), 'trace.npsession');
  importFiles([trace], session);
  const { db } = await analyze([session], { db: null });
  try {
    const names = new Map<string, Names>();
    for (const f of await flowRecords(db)) {
      const entry: Names = {};
      if (f.server_name) entry.serverName = f.server_name as string;
      if (f.alpn) entry.alpn = (f.alpn as string[]).join(',');
      if (f.http_host) entry.httpHost = f.http_host as string;
      if (Object.keys(entry).length) names.set([f['id.orig_h'], f['id.orig_p'], f['id.resp_h'], f['id.resp_p']].join(' '), entry);
    }
    return names;
  } finally {
    db.close();
  }
}

/**
 * Names netprov reads where tshark has no dissector: TLS inside WebSocket frames (wstunnel), which
 * Zeek reads too (its conn.log for this trace says http,ssl).
 */
const BEYOND_TSHARK: Record<string, Record<string, Names>> = {
  'scripts.base.protocols.websocket.wstunnel-https.pcap': { '127.0.0.1 39992 127.0.0.1 8888': { serverName: 'zeek.org', alpn: 'h2,http/1.1' } },
};

/** tshark over every vendored trace, four at a time (its start-up is most of the cost). */
async function allTsharkNames(candidates: string[]): Promise<Map<string, Map<string, Names>>> {
  const found = new Map<string, Map<string, Names>>();
  const queue = [...candidates];
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let trace = queue.shift(); trace; trace = queue.shift()) found.set(trace, await readTsharkNames(trace));
  }));
  return found;
}

const byTrace = await allTsharkNames([...oraclePcaps(), ...corpusTraces()]);
const tsharkNames = (trace: string) => byTrace.get(trace)!;
const traces = [...byTrace.keys()].filter((t) => tsharkNames(t).size > 0).sort();

describe('names from payloads, against tshark', () => {
  it('covers traces with TLS over TCP, QUIC v1 and v2, and HTTP', () => {
    const all = traces.map(tsharkNames);
    expect(traces.length).toBeGreaterThanOrEqual(30);
    expect(all.some((m) => [...m.values()].some((n) => n.serverName === 'api.cirrus-ci.com'))).toBe(true); // QUIC v1
    expect(all.some((m) => [...m.values()].some((n) => n.alpn === 'quic-echo-example'))).toBe(true); // QUIC v2
  });

  it.each(traces.map((t) => [t.split('/').pop()!, t]))('%s', async (_name, trace) => {
    const expected = new Map(tsharkNames(trace));
    for (const [key, names] of Object.entries(BEYOND_TSHARK[trace.split('/').pop()!] ?? {})) expected.set(key, { ...expected.get(key), ...names });
    const got = await netprovNames(trace);
    expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...expected].sort()));
  });
});
