/**
 * `netprov report`: one self-contained HTML file (no network access when opened) with the
 * process tree and the flows each process opened, a timeline of flows coloured by process, top
 * talkers, DNS names, unattributed flows and losses, and a search box. The data is queried here
 * and embedded as JSON; the page's script (page.js beside this file) draws it.
 */
import { readFileSync } from 'node:fs';
import { query, type Database } from '../db/database.js';
import { projectFile } from '../../recorder/project.js';

export interface ReportData {
  sessions: Record<string, unknown>[];
  processes: Record<string, unknown>[];
  flows: Record<string, unknown>[];
  dns: Record<string, unknown>[];
  losses: Record<string, unknown>[];
  talkers: Record<string, unknown>[];
}

export async function reportData(db: Database): Promise<ReportData> {
  return {
    sessions: await query(
      db,
      `SELECT session_id, host, sensor, coalesce(file, array_to_string(captures, ' + ')) AS file, strftime(session_timestamp(start_ns, 0), '%Y-%m-%d %H:%M:%S.%f') AS start, events, chunks_bad, complete
       FROM sessions ORDER BY session_id`,
    ),
    processes: await query(
      db,
      `SELECT session_id, process_key, parent_key, pid, path, argv, signing_id, origin, first_seen_t, exec_t, exit_t,
              container_runtime, container_id, pod_uid, systemd_unit
       FROM processes ORDER BY session_id, first_seen_t, process_key`,
    ),
    flows: await query(
      db,
      `SELECT f.session_id, uid, strftime(ts, '%Y-%m-%d %H:%M:%S.%f') AS ts, start_t, start_t + coalesce(duration, 0) * 1e9 AS end_t,
              orig_h, orig_p, resp_h, resp_p, proto, conn_state, history, orig_bytes, resp_bytes, process_key, pid, exe,
              attribution_method, unattributed_reason, nat_of, dns_name, service, server_name, http_host, ancestry,
              container_runtime, container_id, pod_uid, systemd_unit
       FROM flow_details f ORDER BY f.session_id, start_t, uid`,
    ),
    dns: await query(
      db,
      `SELECT session_id, query, list(DISTINCT answer ORDER BY answer) AS answers, count(*) AS answers_seen
       FROM dns_answers GROUP BY ALL ORDER BY session_id, query`,
    ),
    losses: await query(db, 'SELECT session_id, t, source, count, reason FROM losses ORDER BY session_id, t, source'),
    talkers: await query(
      db,
      `SELECT resp_h, min(dns_name) AS dns_name, count(*) AS flows, sum(coalesce(orig_bytes, 0) + coalesce(resp_bytes, 0)) AS bytes,
              count(DISTINCT process_key) AS processes
       FROM flow_details GROUP BY resp_h ORDER BY bytes DESC, flows DESC, resp_h LIMIT 20`,
    ),
  };
}

/**
 * JSON that is safe inside <script>: no "</script>" or "<!--" can close or confuse the element.
 * Session times past 2^53 ns (104 days from the start) come from DuckDB as bigints: the page
 * draws them, so a double's nanoseconds (spacing of 2 ns at 200 days) are exact enough.
 */
const scriptJson = (value: unknown) =>
  JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? Number(v) : v)).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

export function reportHtml(data: ReportData): string {
  const css = readFileSync(projectFile('analyzer/report/page.css'), 'utf8');
  const script = readFileSync(projectFile('analyzer/report/page.js'), 'utf8');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>netprov report</title>
<style>${css}</style>
</head>
<body>
<header>
  <h1>netprov report</h1>
  <input id="search" type="search" placeholder="Search processes, addresses, names…" autocomplete="off">
</header>
<main>
  <section id="summary"></section>
  <section><h2>Processes and the flows they opened</h2><div id="tree"></div></section>
  <section><h2>Timeline</h2>
    <p class="zoom">Window: from <input id="zoom-from" type="number" min="0" step="any" placeholder="0"> s to
      <input id="zoom-to" type="number" min="0" step="any" placeholder="end"> s after the first flow</p>
    <div id="timeline"></div></section>
  <section><h2>Top talkers</h2><div id="talkers"></div></section>
  <section><h2>DNS names</h2><div id="dns"></div></section>
  <section><h2>Unattributed flows</h2><div id="unattributed"></div></section>
  <section><h2>Losses</h2><div id="losses"></div></section>
</main>
<script id="data" type="application/json">${scriptJson(data)}</script>
<script>${script}</script>
</body>
</html>
`;
}
