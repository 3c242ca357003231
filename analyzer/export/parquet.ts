/**
 * Every table of the analysis as Parquet, hive-partitioned by host and day (DIR/TABLE/host=H/day=D/),
 * so that DuckDB, Spark or Trino read a fleet's sessions with one query:
 *   SELECT ... FROM read_parquet('DIR/flows/**' + '/*.parquet', hive_partitioning = true)
 * A row's day is the UTC day of its own time (a flow's start, a packet's time), or of its
 * session's start for rows without one.
 */
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../recorder/errors.js';
import { query, type Database } from '../db/database.js';

/** Table (or view) -> the column holding each row's session time, if any. */
export const EXPORTED: Record<string, string | null> = {
  sessions: null,
  losses: 't',
  interfaces: null,
  processes: 'first_seen_t',
  process_images: 't',
  process_keys: null,
  socket_events: 't',
  packets: 't',
  flows: 'start_t',
  dns: 't',
  attributions: null,
};

export async function exportParquet(db: Database, dir: string, onTable?: (table: string, done: number, total: number) => void): Promise<Record<string, number>> {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new InputError(`${dir}: cannot create (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const counts: Record<string, number> = {};
  const tables = Object.entries(EXPORTED);
  for (const [i, [table, time]] of tables.entries()) {
    onTable?.(table, i, tables.length);
    const t = time ? `r.${time}` : '0';
    // Table names come from the list above, never from input; the directory is a bound parameter.
    await db.connection.run(
      `COPY (
         SELECT r.* EXCLUDE (session_id${table === 'sessions' ? ', host' : ''}), r.session_id, s.host,
                strftime(session_timestamp(s.start_ns, ${t}), '%Y-%m-%d') AS day
         FROM ${table} r JOIN sessions s ON s.session_id = r.session_id
       ) TO $dir (FORMAT parquet, PARTITION_BY (host, day), OVERWRITE_OR_IGNORE)`,
      { dir: join(dir, table) },
    );
    const [{ n }] = await query(db, `SELECT count(*) AS n FROM ${table}`);
    counts[table] = n as number;
  }
  onTable?.('', tables.length, tables.length);
  restrict(dir);
  return counts;
}

/** DuckDB writes files 0644; exports hold what sessions hold, so make them private like sessions. */
function restrict(path: string): void {
  const stat = statSync(path);
  chmodSync(path, stat.isDirectory() ? 0o700 : 0o600);
  if (stat.isDirectory()) for (const entry of readdirSync(path)) restrict(join(path, entry));
}
