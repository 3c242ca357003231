/**
 * For every trace in test/oracle/zeek, netprov's flows equal the conn.log Zeek wrote, field by
 * field, except ts, uid (masked there) and local_orig/local_resp (Zeek configuration); service as
 * the set of the services netprov detects (ftp-data included: the FTP trace's data connections).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeToRows, analyzePackets } from '../helpers/analyze.js';
import { tsharkFields } from '../helpers/tshark.js';
import { oracleDir } from '../helpers/paths.js';
import { detected } from '../helpers/zeek-corpus.js';

const zeekDir = join(oracleDir, 'zeek');
const COMPARED = ['id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'duration', 'orig_bytes', 'resp_bytes', 'conn_state', 'missed_bytes', 'history', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes', 'ip_proto'];

function zeekRows(log: string): Record<string, string>[] {
  const lines = readFileSync(log, 'utf8').split('\n');
  const fields = lines.find((l) => l.startsWith('#fields'))!.split('\t').slice(1);
  return lines.filter((l) => l && !l.startsWith('#')).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [fields[i], v])));
}

const sortKey = (r: Record<string, string>) => COMPARED.slice(0, 5).map((f) => r[f]).join(' ');

describe.each(readdirSync(zeekDir).filter((f) => f.endsWith('.pcap')).sort())('Zeek oracle %s', (pcap) => {
  it('gives conn.log\'s rows', async () => {
    const expected = zeekRows(join(zeekDir, pcap.replace(/\.pcap$/, '.conn.log')));
    const got = await analyzeToRows(join(zeekDir, pcap));
    expect(got.length).toBe(expected.length);
    const pick = (r: Record<string, string>) => ({ ...Object.fromEntries(COMPARED.filter((f) => f !== 'duration').map((f) => [f, r[f]])), service: detected(r.service) });
    const sortedGot = [...got].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    const sortedExpected = [...expected].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    expect(sortedGot.map(pick)).toEqual(sortedExpected.map(pick));
    // Each packet's addresses, ports and side, read back from the packets view, agree with tshark.
    const packets = await analyzePackets(join(zeekDir, pcap));
    const frames = tsharkFields(join(zeekDir, pcap), ['ip.src', 'ip.dst', 'tcp.srcport', 'udp.srcport']);
    expect(packets.map((p) => [p.src, p.dst, String(p.src_port)])).toEqual(frames.map(([src, dst, tcp, udp]) => [src, dst, tcp || udp]));
    sortedGot.forEach((row, i) => {
      const want = sortedExpected[i].duration;
      if (want === '-') expect(row.duration).toBe('-');
      else expect(Math.abs(Number(row.duration) - Number(want))).toBeLessThanOrEqual(1e-6);
    });
  });
});
