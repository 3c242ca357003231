/**
 * Flows as OCSF Network Activity events (class 4001, OCSF 1.3): the schema security lakes and
 * SIEMs ingest. One JSON object per line, per flow: activity Traffic (a flow's summary), its
 * endpoints, connection (Community ID included), traffic counts, the TLS server name, and as
 * `actor.process` the process that opened it with its chain of parents. What OCSF has no field
 * for (Zeek's conn_state and history, netprov's attribution evidence) goes under `unmapped`.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InputError } from '../../recorder/errors.js';
import { projectVersion } from '../../recorder/project.js';
import { query, type Database } from '../db/database.js';
import { writeAll } from '../../recorder/write-all.js';

export const OCSF_VERSION = '1.3.0';
const TRAFFIC = 6;
const MAX_PARENTS = 32;

type Row = Record<string, unknown>;

const FLOWS_SQL = `SELECT f.session_id, f.uid, s.start_ns, f.start_t, f.duration, f.orig_h, f.orig_p, f.resp_h, f.resp_p, f.proto, f.ip_proto,
         f.orig_bytes, f.resp_bytes, f.orig_pkts, f.resp_pkts, f.conn_state, f.history, f.community_id, f.orig_l2_addr, f.resp_l2_addr,
         f.service, f.server_name, f.alpn, f.http_host, f.dns_name, f.process_key, f.attribution_method, f.attribution_confidence,
         f.unattributed_reason, f.nat_of, f.netns, f.container_runtime, f.container_id, f.pod_uid, f.systemd_unit, f.cgroup_path
  FROM flow_details f JOIN sessions s USING (session_id)
  ORDER BY f.session_id, f.start_t, f.uid`;

/** Writes DIR/network_activity.jsonl; returns how many events. */
export async function exportOcsf(db: Database, dir: string): Promise<number> {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new InputError(`${dir}: cannot create (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const processes = new Map<string, Row>();
  for (const p of await query(db, 'SELECT session_id, process_key, pid, parent_key, uid, path, argv, version, first_seen_t FROM processes')) {
    processes.set(`${p.session_id}/${p.process_key}`, p);
  }
  const product = { name: 'netprov', vendor_name: 'netprov', version: projectVersion() };
  const out = openSync(join(dir, 'network_activity.jsonl'), 'wx', 0o600);
  let events = 0;
  try {
    // Streamed out of DuckDB a chunk at a time: millions of flows never sit in memory.
    const result = await db.connection.stream(FLOWS_SQL);
    for await (const rows of result.yieldRowObjectJs()) {
      writeAll(out, rows.map((r) => `${JSON.stringify(networkActivity(r as Row, processes, product))}\n`).join(''));
      events += rows.length;
    }
  } finally {
    closeSync(out);
  }
  return events;
}

const ms = (startNs: unknown, t: unknown) => Number((BigInt(startNs as number | bigint) + BigInt(t as number | bigint)) / 1_000_000n);
const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));

function networkActivity(f: Row, processes: Map<string, Row>, product: Row): Row {
  const start = ms(f.start_ns, f.start_t);
  const durationMs = f.duration === null ? 0 : Math.round(Number(f.duration) * 1000);
  const process = f.process_key ? processObject(processes, `${f.session_id}/${f.process_key}`, 0) : undefined;
  return prune({
    class_uid: 4001,
    class_name: 'Network Activity',
    category_uid: 4,
    category_name: 'Network Activity',
    activity_id: TRAFFIC,
    activity_name: 'Traffic',
    type_uid: 4001 * 100 + TRAFFIC,
    type_name: 'Network Activity: Traffic',
    severity_id: 1,
    severity: 'Informational',
    time: start,
    start_time: start,
    end_time: start + durationMs,
    duration: durationMs,
    metadata: { version: OCSF_VERSION, product, uid: f.uid, log_name: 'flows', correlation_uid: f.session_id, profiles: f.container_id ? ['container'] : undefined },
    src_endpoint: { ip: f.orig_h, port: num(f.orig_p), mac: f.orig_l2_addr ?? undefined },
    dst_endpoint: { ip: f.resp_h, port: num(f.resp_p), mac: f.resp_l2_addr ?? undefined, hostname: f.server_name ?? hostOnly(f.http_host as string | null) ?? f.dns_name ?? undefined },
    connection_info: {
      uid: f.uid,
      community_uid: f.community_id,
      direction_id: 0, // Unknown: a capture does not say which side is inside
      protocol_num: num(f.ip_proto),
      protocol_name: f.proto,
      protocol_ver_id: String(f.orig_h).includes(':') ? 6 : 4,
    },
    traffic: {
      bytes_out: num(f.orig_bytes),
      bytes_in: num(f.resp_bytes),
      bytes: f.orig_bytes === null ? undefined : Number(f.orig_bytes) + Number(f.resp_bytes ?? 0),
      packets_out: num(f.orig_pkts),
      packets_in: num(f.resp_pkts),
      packets: Number(f.orig_pkts) + Number(f.resp_pkts),
    },
    tls: f.server_name ? { sni: f.server_name } : undefined,
    actor: process ? { process } : undefined,
    // OCSF's container object (runtime, uid, and the pod as orchestrator metadata), on the flow's process.
    container: f.container_id
      ? { uid: f.container_id, runtime: f.container_runtime, orchestrator: f.pod_uid ? 'kubernetes' : undefined, pod_uuid: f.pod_uid ?? undefined }
      : undefined,
    unmapped: {
      zeek: { conn_state: f.conn_state, history: f.history ?? undefined, service: f.service ?? undefined },
      netprov: {
        alpn: f.alpn ?? undefined,
        attribution_method: f.attribution_method ?? undefined,
        attribution_confidence: num(f.attribution_confidence),
        unattributed_reason: f.unattributed_reason ?? undefined,
        nat_of: f.nat_of ?? undefined,
        netns: num(f.netns),
        cgroup_path: f.cgroup_path ?? undefined,
        systemd_unit: f.systemd_unit ?? undefined,
      },
    },
  });
}

/** An HTTP Host header's host, without its port ("example.org:8080", "[::1]:80"). */
const hostOnly = (host: string | null) => host?.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([^:]*):\d+$/, '$1') ?? null;

/** OCSF's process object, its parents nested as parent_process (a cycle or a long chain stops). */
function processObject(processes: Map<string, Row>, key: string, depth: number): Row | undefined {
  const p = processes.get(key);
  if (!p || depth > MAX_PARENTS) return undefined;
  const path = p.path as string | null;
  const argv = p.argv as string[] | null;
  return {
    pid: num(p.pid),
    uid: p.process_key,
    name: path ? basename(path) : undefined,
    cmd_line: argv?.length ? argv.join(' ') : undefined,
    file: path ? { path, name: basename(path), type_id: 1, type: 'Regular File' } : undefined,
    user: p.uid === null ? undefined : { uid: String(p.uid) },
    parent_process: p.parent_key ? processObject(processes, `${p.session_id}/${p.parent_key}`, depth + 1) : undefined,
  };
}

/** Drops undefined members (and objects left empty), so every event has only what is known. */
function prune(value: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const inner = prune(v as Row);
      if (Object.keys(inner).length) out[k] = inner;
    } else {
      out[k] = typeof v === 'bigint' ? Number(v) : v;
    }
  }
  return out;
}
