/**
 * A load into an existing database file that fails part-way — a corrupt session without
 * --salvage, a capture that cannot be read, a value a column cannot hold, DuckDB out of memory —
 * must leave the file as it was. No one transaction can hold a load: its rows arrive on several
 * connections at once (staged-parts.ts), and the session's own row is written last. So the command
 * notes which sessions the file held before it began, and on failure deletes the rows of every
 * other session from every table that names a session. Left there, they would be half a session
 * among whole ones, and a retry with --salvage would be refused as a session already loaded.
 *
 * A load killed outright (SIGKILL, a crash, the machine going down) could undo nothing: its rows
 * are those of sessions without their own row. The same deletion, before a load adds to the file,
 * removes them (~20-30 ms on a file of 2,000,000 packets with nothing to remove, measured).
 */
import { query, type Database } from './database.js';

/** The sessions a database holds now. */
export async function sessionsHeld(db: Database): Promise<string[]> {
  return (await query(db, 'SELECT session_id FROM sessions ORDER BY session_id')).map((r) => r.session_id as string);
}

/** Deletes the rows of every session but `kept`, the sessions table's own last; returns how many rows went. */
export async function removeSessionsBut(db: Database, kept: string[]): Promise<number> {
  const { LIST, VARCHAR, listValue } = (await import('./duckdb.js')).duckdb;
  const keep = listValue(kept);
  // Typed: an empty list has no item type DuckDB could infer.
  const types = [LIST(VARCHAR)];
  // From the catalog, not from any input: every base table with a session_id or session_no column.
  const tables = await query(
    db,
    `SELECT table_name, list(column_name) AS columns FROM duckdb_columns()
     WHERE schema_name = 'main' AND NOT internal AND column_name IN ('session_id', 'session_no')
       AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main')
     GROUP BY table_name ORDER BY table_name = 'sessions', table_name`,
  );
  let removed = 0;
  for (const { table_name: table, columns } of tables as { table_name: string; columns: string[] }[]) {
    const quoted = `"${table.replace(/"/g, '""')}"`;
    const deleted = columns.includes('session_id')
      ? await db.connection.run(`DELETE FROM ${quoted} WHERE NOT list_contains($1, session_id)`, [keep], types)
      : await db.connection.run(`DELETE FROM ${quoted} WHERE session_no NOT IN (SELECT session_no FROM sessions WHERE list_contains($1, session_id))`, [keep], types);
    removed += deleted.rowsChanged;
  }
  return removed;
}
