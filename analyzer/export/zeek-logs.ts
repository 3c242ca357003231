/**
 * conn.log and dns.log in Zeek's ASCII format, community_id included, for Zeek-shaped tooling.
 */
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../recorder/errors.js';
import { query, type Database } from '../db/database.js';
import { flowRecordChunks, zeekConnLogParts, zeekText } from '../output/conn-log.js';
import { writeAll } from '../../recorder/write-all.js';

const DNS_FIELDS = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'trans_id', 'rtt', 'query', 'qtype_name', 'rcode_name', 'answers', 'TTLs'];
const DNS_TYPES = ['time', 'string', 'addr', 'port', 'addr', 'port', 'enum', 'count', 'interval', 'string', 'string', 'string', 'vector[string]', 'vector[interval]'];

export async function exportZeek(db: Database, dir: string): Promise<{ conn: number; dns: number }> {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new InputError(`${dir}: cannot create (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  // conn.log is written as its rows stream out of DuckDB: millions of flows never sit in memory.
  const conn = openSync(join(dir, 'conn.log'), 'wx', 0o600);
  let flows = 0;
  try {
    writeAll(conn, zeekConnLogParts.header(new Date(0)));
    for await (const records of flowRecordChunks(db)) {
      writeAll(conn, zeekConnLogParts.rows(records));
      flows += records.length;
    }
    writeAll(conn, zeekConnLogParts.footer(new Date(0)));
  } finally {
    closeSync(conn);
  }

  // One dns.log row per query, with its answer when one came back on the same flow and id.
  const rows = await query(
    db,
    `WITH queries AS (SELECT * FROM dns WHERE NOT is_response),
          answers AS (SELECT * FROM dns WHERE is_response)
     SELECT q.session_id, s.start_ns, q.t, q.flow_uid, f.orig_h, f.orig_p, f.resp_h, f.resp_p, f.proto, q.trans_id, q.query, q.qtype,
            a.t - q.t AS rtt_ns, a.rcode, a.answers, a.ttls
     FROM queries q
     JOIN sessions s USING (session_id)
     JOIN flows f ON f.session_id = q.session_id AND f.uid = q.flow_uid
     LEFT JOIN answers a ON a.session_id = q.session_id AND a.flow_uid = q.flow_uid AND a.trans_id = q.trans_id AND a.t >= q.t
     QUALIFY row_number() OVER (PARTITION BY q.session_id, q.flow_uid, q.trans_id, q.t ORDER BY a.t NULLS LAST) = 1
     ORDER BY q.session_id, q.t, q.flow_uid, q.trans_id`,
  );
  const ts = (startNs: unknown, t: unknown) => {
    const ns = BigInt(startNs as number) + BigInt(t as number);
    return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0').slice(0, 6)}`;
  };
  const lines = rows.map((r) =>
    [
      ts(r.start_ns, r.t), r.flow_uid, r.orig_h, r.orig_p, r.resp_h, r.resp_p, r.proto, r.trans_id,
      r.rtt_ns === null ? null : ((r.rtt_ns as number) / 1e9).toFixed(6), r.query, r.qtype, r.rcode,
      r.answers as string[] | null, (r.ttls as number[] | null)?.map((x) => `${x}.000000`) ?? null,
    ]
      .map((v) => zeekText(v as never))
      .join('\t'),
  );
  const header = ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tdns', '#open\t1970-01-01-00-00-00',
    `#fields\t${DNS_FIELDS.join('\t')}`, `#types\t${DNS_TYPES.join('\t')}`];
  writeFileSync(join(dir, 'dns.log'), `${[...header, ...lines, '#close\t1970-01-01-00-00-00'].join('\n')}\n`, { mode: 0o600, flag: 'wx' });
  return { conn: flows, dns: rows.length };
}
