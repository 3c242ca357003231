/**
 * `netprov analyze`: sessions into a DuckDB database, and the deterministic JSON summary of
 * what is in it.
 */
import { InputError } from '../recorder/errors.js';
import { openDatabase, query, type Database } from './db/database.js';
import { removeSessionsBut, sessionsHeld } from './db/undo-load.js';
import { classifyInputs, inputName } from './load/inputs.js';
import { startLoad } from './load/load-threads.js';
import { loadSession, type LoadOptions, type LoadResult } from './load/loader.js';

export interface AnalyzeOptions extends LoadOptions {
  /** DuckDB file; null = in memory. */
  db: string | null;
  /** Where the captures' merged session is also written: a temporary name, and the name for messages. */
  save?: { temporary: string; name: string };
}

/**
 * Loads session files and captures (all captures together make one session) into a database.
 * Returns one result per session, in command-line order, what the database file itself needed
 * mending, and what `firstQueries` found (a query that fails fails the load, which is undone as
 * any other failure is).
 *
 * A new database file is then written whole, on a second connection while `firstQueries` reads
 * (400,000 packets: DuckDB's ~0.1 s checkpoint beside the first flows' ~0.04 s). Its close would
 * checkpoint too, but a failure there goes unseen (DuckDB swallows it): the new file, renamed out
 * of its temporary folder without the write-ahead log left in it, then lacked its tables — exit
 * 0 on a disk that filled at that moment. A file added to in place keeps its log beside it: a
 * checkpoint its close cannot finish leaves the log, which DuckDB applies on the next open.
 */
export async function analyze<T = undefined>(
  paths: string[],
  options: AnalyzeOptions,
  firstQueries?: (db: Database) => Promise<T>,
): Promise<{ db: Database; results: LoadResult[]; warnings: string[]; first: T }> {
  const inputs = classifyInputs(paths);
  if (inputs.length === 0) throw new InputError('no sessions or captures to analyse');
  if (options.save && !inputs.some((i) => i.kind === 'captures')) throw new InputError('--save keeps the session made from captures; no capture was given');
  for (const input of inputs) if (input.kind === 'captures' && options.save) input.save = options.save;
  // The first input's workers start reading while DuckDB opens.
  const first = startLoad(inputs[0], options);
  let db: Database;
  try {
    db = await openDatabase(options.db);
  } catch (err) {
    await first.stop();
    first.staged.remove();
    throw err;
  }
  const results: LoadResult[] = [];
  const warnings: string[] = [];
  // A file's sessions before this command: a failed load must leave it as it was (undo-load.ts).
  let before: string[] | null = null;
  try {
    if (db.inPlace) {
      before = await sessionsHeld(db);
      const unfinished = await removeSessionsBut(db, before);
      if (unfinished > 0) warnings.push(`${options.db}: removed ${unfinished} rows an interrupted load had left (of sessions it never finished)`);
    }
    for (const input of inputs) {
      const path = inputName(input);
      const result = await loadSession(db, input === inputs[0] ? first : input, options);
      // As inspect does: a corrupt session is an error unless the user asked to load what is intact.
      if (result.corruption && !options.salvage) {
        const { offset, message } = result.corruption;
        throw new InputError(`${path}: corrupt at offset ${offset} (${message}); rerun with --salvage to load what is intact`);
      }
      results.push(result);
    }
    const [written, queried] = await Promise.allSettled([db.inMemory || db.inPlace ? null : checkpoint(db), firstQueries?.(db)]);
    for (const outcome of [written, queried]) if (outcome.status === 'rejected') throw outcome.reason;
    return { db, results, warnings, first: (queried as PromiseFulfilledResult<T>).value };
  } catch (err) {
    try {
      if (before) await removeSessionsBut(db, before);
    } catch (undo) {
      db.close();
      // Said on the message's first line, whatever the failure (a full disk fails the undo too).
      const why = `${options.db}: the rows this command had added could not be removed (${(undo as Error).message.split('\n')[0]})`;
      if (!(err instanceof Error)) throw err;
      const [head, ...rest] = err.message.split('\n');
      err.message = [`${head}; ${why}`, ...rest].join('\n');
      throw err;
    }
    db.close();
    throw err;
  }
}

async function checkpoint(db: Database): Promise<void> {
  const connection = await db.connect();
  try {
    await connection.run('CHECKPOINT');
  } finally {
    connection.closeSync();
  }
}

/**
 * Everything the analysis concluded, as JSON with sorted keys and rows in a fixed order, so the
 * same sessions give the same bytes whatever the locale, time zone, thread count or input order.
 */
export async function analysisJson(db: Database): Promise<string> {
  const section = (sql: string) => query(db, sql);
  const document = {
    format: 'netprov-analysis',
    version: 1,
    sessions: await section(
      `SELECT session_id, host, sensor, start_ns::VARCHAR AS start_ns, events, chunks_good, chunks_bad, complete, truncated_at,
              problems, malformed_packets,
              (SELECT count(*) FROM packets p WHERE p.session_id = s.session_id) AS packets,
              (SELECT count(*) FROM flows f WHERE f.session_id = s.session_id) AS flows
       FROM sessions s ORDER BY session_id`,
    ),
    losses: await section('SELECT session_id, t, source, count, reason FROM losses ORDER BY session_id, t, source, reason, count'),
    processes: await section(
      `SELECT session_id, process_key, pid, version, ppid, parent_key, uid, path, argv, signing_id, team_id, cdhash,
              is_platform_binary, origin, first_seen_t, exec_t, exit_t, exit_status, cgroup_id, cgroup_path,
              container_runtime, container_id, pod_uid, systemd_unit
       FROM processes ORDER BY session_id, first_seen_t, process_key`,
    ),
    flows: await section(
      `SELECT session_id, uid, start_t, orig_h, orig_p, resp_h, resp_p, proto, duration, orig_bytes, resp_bytes, conn_state,
              missed_bytes, history, orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes, ip_proto, community_id, tunnel_parents, orig_l2_addr, resp_l2_addr,
              service, server_name, alpn, http_host, process_key, attribution_method, attribution_confidence, unattributed_reason, nat_of, dns_name,
              netns, cgroup_path, container_runtime, container_id, pod_uid, systemd_unit
       FROM flow_details ORDER BY session_id, start_t, uid`,
    ),
    dns: await section(
      `SELECT session_id, t, flow_uid, trans_id, client, server, is_response, query, qtype, rcode, answers, ttls
       FROM dns ORDER BY session_id, t, flow_uid, trans_id, is_response`,
    ),
  };
  return `${JSON.stringify(document, sortedKeys, 2)}\n`;
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return value;
}
