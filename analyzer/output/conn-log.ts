/**
 * Flows as Zeek's conn.log: the same field names, the same text for each value, so that scripts
 * written for Zeek read netprov's output. JSON lines add netprov's attribution fields.
 */
import type { Database } from '../db/database.js';
import { query } from '../db/database.js';
import { duckdb } from '../db/duckdb.js';

/** conn.log columns in Zeek's order, then netprov's. */
export const ZEEK_FIELDS = [
  'ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration', 'orig_bytes', 'resp_bytes',
  'conn_state', 'local_orig', 'local_resp', 'missed_bytes', 'history', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes',
  'tunnel_parents', 'ip_proto',
] as const;
const ZEEK_TYPES = [
  'time', 'string', 'addr', 'port', 'addr', 'port', 'enum', 'string', 'interval', 'count', 'count', 'string', 'bool', 'bool', 'count',
  'string', 'count', 'count', 'count', 'count', 'set[string]', 'count',
];
export const NETPROV_FIELDS = [
  'community_id', 'orig_l2_addr', 'resp_l2_addr', 'process_key', 'pid', 'exe', 'argv', 'attribution_method', 'attribution_confidence', 'unattributed_reason', 'dns_name',
  'server_name', 'alpn', 'http_host', 'nat_of', 'netns', 'cgroup_path', 'container_runtime', 'container_id', 'pod_uid', 'systemd_unit',
] as const;

export type FlowRecord = Record<string, string | number | boolean | string[] | null>;

const FLOW_COLUMNS = `session_id, uid, start_t, s.start_ns, orig_h, orig_p, resp_h, resp_p, proto, duration, orig_bytes, resp_bytes,
            conn_state, missed_bytes, history, orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes, ip_proto, community_id,
            tunnel_parents, orig_l2_addr, resp_l2_addr, process_key, pid, exe, argv, attribution_method, attribution_confidence, unattributed_reason, dns_name,
            service, server_name, alpn, http_host, nat_of, netns, cgroup_path, container_runtime, container_id, pod_uid, systemd_unit`;

const FLOWS_SQL = `SELECT ${FLOW_COLUMNS}
     FROM flow_details JOIN sessions s USING (session_id)
     WHERE $1::VARCHAR IS NULL OR session_id = $1
     ORDER BY session_id, start_t, uid`;

// The first flows are chosen from the flows table, then given their details (flow_details_of, on
// their uids alone: through the flow_details view, joined by uid, every flow's DNS name was looked
// up first — 0.66 s for the first 50 of 77,592 flows, 0.04 s this way).
const FIRST_FLOWS_SQL = `SELECT session_id, uid FROM flows
     WHERE $1::VARCHAR IS NULL OR session_id = $1
     ORDER BY session_id, start_t, uid
     LIMIT $2`;

const SHOWN_FLOWS_SQL = `SELECT ${FLOW_COLUMNS}
     FROM flow_details_of($1::VARCHAR[]) JOIN sessions s USING (session_id)
     WHERE list_contains($2::VARCHAR[], session_id || ' ' || uid)
     ORDER BY session_id, start_t, uid`;

/** Flows with their attribution in (session, start, uid) order, the same on every run: all of them, or the first `limit`. */
export async function flowRecords(db: Database, sessionId: string | null = null, limit: number | null = null): Promise<FlowRecord[]> {
  if (limit === null) return (await query(db, FLOWS_SQL, [sessionId])).map(flowRecord);
  const shown = await query(db, FIRST_FLOWS_SQL, [sessionId, limit]);
  if (shown.length === 0) return [];
  const { listValue } = duckdb;
  const uids = listValue(shown.map((f) => f.uid as string));
  const keys = listValue(shown.map((f) => `${f.session_id as string} ${f.uid as string}`));
  return (await query(db, SHOWN_FLOWS_SQL, [uids, keys])).map(flowRecord);
}

/**
 * The same flows a chunk at a time, streamed from DuckDB: an output of millions of flows holds
 * one chunk in memory, not all of them (materialised, 747,000 flows took 4.7 GB).
 */
export async function* flowRecordChunks(db: Database, sessionId: string | null = null): AsyncGenerator<FlowRecord[]> {
  const result = await db.connection.stream(FLOWS_SQL, [sessionId]);
  for await (const rows of result.yieldRowObjectJs()) yield rows.map((row) => flowRecord(numbers(row)));
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** BIGINTs that fit a double become numbers, as query() gives them. */
function numbers(row: Record<string, unknown>): Record<string, unknown> {
  // for-in, not Object.entries: no array per field of every row (a tenth of `flows` at 77,000 flows, profiled)
  for (const k in row) {
    const v = row[k];
    if (typeof v === 'bigint' && v <= MAX_SAFE && v >= MIN_SAFE) row[k] = Number(v);
  }
  return row;
}

function flowRecord(r: Record<string, unknown>): FlowRecord {
    const ns = BigInt(r.start_ns as number | bigint) + BigInt(r.start_t as number);
    return {
      ts: `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0').slice(0, 6)}`,
      uid: r.uid as string,
      'id.orig_h': r.orig_h as string,
      'id.orig_p': r.orig_p as number,
      'id.resp_h': r.resp_h as string,
      'id.resp_p': r.resp_p as number,
      proto: r.proto as string,
      service: r.service as string | null,
      duration: r.duration === null ? null : (r.duration as number).toFixed(6),
      orig_bytes: r.orig_bytes as number | null,
      resp_bytes: r.resp_bytes as number | null,
      conn_state: r.conn_state as string,
      local_orig: null,
      local_resp: null,
      missed_bytes: r.missed_bytes as number,
      history: r.history as string | null,
      orig_pkts: r.orig_pkts as number,
      orig_ip_bytes: r.orig_ip_bytes as number,
      resp_pkts: r.resp_pkts as number,
      resp_ip_bytes: r.resp_ip_bytes as number,
      tunnel_parents: r.tunnel_parents as string[] | null,
      orig_l2_addr: r.orig_l2_addr as string | null,
      resp_l2_addr: r.resp_l2_addr as string | null,
      ip_proto: r.ip_proto as number,
      community_id: r.community_id as string,
      process_key: r.process_key as string | null,
      pid: r.pid as number | null,
      exe: r.exe as string | null,
      argv: r.argv as string[] | null,
      attribution_method: r.attribution_method as string | null,
      attribution_confidence: r.attribution_confidence as number | null,
      unattributed_reason: r.unattributed_reason as string | null,
      dns_name: r.dns_name as string | null,
      server_name: r.server_name as string | null,
      alpn: r.alpn as string[] | null,
      http_host: r.http_host as string | null,
      nat_of: r.nat_of as string | null,
      netns: r.netns as number | null,
      cgroup_path: r.cgroup_path as string | null,
      container_runtime: r.container_runtime as string | null,
      container_id: r.container_id as string | null,
      pod_uid: r.pod_uid as string | null,
      systemd_unit: r.systemd_unit as string | null,
      session_id: r.session_id as string,
    };
}

/** A value as Zeek's ASCII writer prints it. */
export function zeekText(value: FlowRecord[string]): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.length ? value.join(',') : '(empty)';
  if (typeof value === 'boolean') return value ? 'T' : 'F';
  if (value === '') return '(empty)';
  return String(value).replace(/\t/g, '\\x09');
}

const CONN_FIELDS = [...ZEEK_FIELDS, 'community_id'];
const stamp = (d: Date) => d.toISOString().replace(/T/, '-').replace(/:/g, '-').slice(0, 19);

/**
 * conn.log — Zeek's header lines, the rows with community_id as an extra column as Zeek's
 * package adds it, the close line — in three parts, so that a long one is written as its rows arrive.
 */
export const zeekConnLogParts = {
  header: (openedAt: Date): string =>
    [
      '#separator \\x09',
      '#set_separator\t,',
      '#empty_field\t(empty)',
      '#unset_field\t-',
      '#path\tconn',
      `#open\t${stamp(openedAt)}`,
      `#fields\t${CONN_FIELDS.join('\t')}`,
      `#types\t${[...ZEEK_TYPES, 'string'].join('\t')}`,
    ].join('\n') + '\n',
  rows: (records: FlowRecord[]): string => records.map((r) => `${CONN_FIELDS.map((f) => zeekText(r[f])).join('\t')}\n`).join(''),
  footer: (openedAt: Date): string => `#close\t${stamp(openedAt)}\n`,
};


/**
 * One JSON object per line: Zeek's field names (unset ones omitted, as Zeek's JSON writer does),
 * then netprov's, always present (null when unknown) because scripts key on them.
 */
/** JSON lines' fields in order, and whether each is written when null (netprov's are; Zeek's are left out, as Zeek's JSON writer does). */
const JSON_FIELDS: [field: string, whenNull: boolean][] = [...ZEEK_FIELDS.map((f): [string, boolean] => [f, false]), ...NETPROV_FIELDS.map((f): [string, boolean] => [f, true])];

export function jsonLines(records: FlowRecord[]): string {
  let text = '';
  for (const r of records) {
    const out: Record<string, unknown> = {};
    for (const [f, whenNull] of JSON_FIELDS) {
      const v = r[f];
      if (v === null && !whenNull) continue;
      out[f] = f === 'ts' || f === 'duration' ? Number(v) : v;
    }
    text += `${JSON.stringify(out)}\n`;
  }
  return text;
}
