/**
 * Zeek's own test baselines (test/oracle/zeek-corpus): each trace analysed as Zeek ran it (with
 * or without checksum verification), its rows compared with the conn.log Zeek wrote on every
 * column the baseline has except ts, uid and local_* (masked or site configuration); service as
 * the set of the services netprov detects (DETECTED_SERVICES: Zeek's others, such as modbus or
 * irc-dcc-data, are left out of both sides). Rows are
 * compared as a multiset per trace; tunnel_parents, which names uids, is compared as the parents'
 * 5-tuples, or `tunnel` for a parent that is no row of the log (an IP tunnel: Zeek's tunnel.log).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeToRows } from './analyze.js';
import { oracleDir } from './paths.js';
import { readZeekLog, type ZeekRow } from './zeek-log.js';

export const corpusDir = join(oracleDir, 'zeek-corpus');
const NOT_COMPARED = new Set(['ts', 'uid', 'local_orig', 'local_resp']);

/** The service names netprov's content detection gives (analyzer/content/sniff.ts, tunnels, DNS). */
export const DETECTED_SERVICES = new Set([
  'dns', 'http', 'ssl', 'quic', 'ssh', 'ntp', 'dhcp', 'smtp', 'ftp', 'ftp-data', 'pop3', 'imap', 'irc', 'mysql', 'redis', 'rdp', 'krb', 'krb_tcp',
  'vxlan', 'geneve', 'teredo', 'ayiya', 'gtpv1',
]);

const TUNNEL_SERVICES = new Set(['vxlan', 'geneve', 'teredo', 'ayiya', 'gtpv1']);

/**
 * A service value as a sorted set of detected names: '-' when none is left. Many btests run Zeek
 * bare (`zeek -b`), with no application analyzers loaded: where no row of a baseline names an
 * application service, only the tunnel services (Zeek's core) are compared.
 */
export function detected(service: string, applications = true): string {
  const names = service === '-' ? [] : service.split(',').filter((s) => DETECTED_SERVICES.has(s) && (applications || TUNNEL_SERVICES.has(s)));
  return names.length ? names.sort().join(',') : '-';
}

const namesApplications = (rows: ZeekRow[]) => rows.some((r) => (r.service ?? '-').split(',').some((s) => s !== '-' && !TUNNEL_SERVICES.has(s)));

export interface Baseline {
  name: string;
  trace: string;
  verifyChecksums: boolean;
}

export function baselines(): Baseline[] {
  return readdirSync(corpusDir)
    .filter((f) => f.endsWith('.conn.log'))
    .sort()
    .map((log) => {
      const name = log.slice(0, -'.conn.log'.length);
      const trace = ['.pcap', '.pcapng', '.pcap.gz', '.pcapng.gz'].map((ext) => join(corpusDir, name + ext)).find(existsSync);
      if (!trace) throw new Error(`no trace for ${name}`);
      const flags = readFileSync(join(corpusDir, `${name}.flags`), 'utf8').split('\n');
      return { name, trace, verifyChecksums: flags[0].trim() !== 'C' };
    });
}

const tuple = (r: ZeekRow) => [r['id.orig_h'], r['id.orig_p'], r['id.resp_h'], r['id.resp_p'], r.proto].join(' ');

/** Each row as one line of the compared columns, tunnel_parents resolved to the parents' tuples. */
function lines(fields: string[], rows: ZeekRow[], applications: boolean): string[] {
  const compared = fields.filter((f) => !NOT_COMPARED.has(f));
  const byUid = new Map(rows.map((r) => [r.uid, r]));
  return rows
    .map((r) =>
      compared
        .map((f) => {
          if (f === 'service') return `${f}=${detected(r[f], applications)}`;
          if (f !== 'tunnel_parents' || r[f] === '-') return `${f}=${r[f]}`;
          if (!fields.includes('id.orig_h')) return `${f}=${r[f].split(',').length} parents`;
          return `${f}=[${r[f].split(',').map((uid) => (byUid.has(uid) ? tuple(byUid.get(uid)!) : 'tunnel')).sort().join('|')}]`;
        })
        .join(' '),
    )
    .sort();
}

export interface Comparison {
  expected: number;
  /** Rows Zeek wrote that netprov did not, and rows netprov wrote that Zeek did not. */
  missing: string[];
  extra: string[];
}

export async function compareBaseline(b: Baseline): Promise<Comparison> {
  const { fields, rows } = readZeekLog(join(corpusDir, `${b.name}.conn.log`));
  const got = await analyzeToRows(b.trace, { verifyChecksums: b.verifyChecksums });
  const applications = namesApplications(rows);
  const want = lines(fields, rows, applications);
  const have = lines(fields, got, applications);
  const missing: string[] = [];
  const pool = new Map<string, number>();
  for (const l of have) pool.set(l, (pool.get(l) ?? 0) + 1);
  for (const l of want) {
    const n = pool.get(l) ?? 0;
    if (n > 0) pool.set(l, n - 1);
    else missing.push(l);
  }
  const extra = [...pool].flatMap(([l, n]) => Array<string>(n).fill(l));
  return { expected: want.length, missing, extra };
}
