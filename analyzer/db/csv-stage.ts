/**
 * Rows with strings, loaded in bulk: rows become CSV text in a private temporary file (CsvFile,
 * which needs no database, so a worker thread can write it) and DuckDB reads the file with one
 * INSERT ... SELECT FROM read_csv at the end (loadCsv).
 *
 * Written because the row-wise Appender costs ~5 µs per flow row (24 columns, 7 of them text):
 * 0.85 s on the main thread for 170,000 flows in the benchmark, while CSV text plus read_csv
 * measured ~1 µs per row, most of it off the main thread inside DuckDB.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from './database.js';

const FLUSH_AT = 256 << 10;

/** Where a load stages its rows with strings: a new private (0700) temporary folder; `remove` deletes it. */
export interface CsvStaging {
  flows: string;
  dns: string;
  remove: () => void;
}

export function csvStaging(): CsvStaging {
  const dir = mkdtempSync(join(tmpdir(), 'netprov-'));
  return { flows: join(dir, 'flows.csv'), dns: join(dir, 'dns.csv'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export class CsvFile {
  private readonly fd: number;
  /**
   * Lines not yet written, each one flat string (joined, not built by +=: a line of ~30 appended
   * pieces is a rope of ~60 objects, and ropes waiting for a flush made a third of the tracking
   * worker's garbage collection).
   */
  private lines: string[] = [];
  private pending = 0;
  private readonly fields: string[] = [];
  rows = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w', 0o600);
  }

  /** One row in the table's column order; null is NULL, an array a list (as JSON: loadCsv reads it back). */
  row(values: readonly unknown[]): void {
    const fields = this.fields;
    fields.length = values.length;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null || v === undefined) fields[i] = '\\N';
      else if (typeof v === 'string') fields[i] = quoted(v);
      else if (Array.isArray(v)) fields[i] = quoted(JSON.stringify(v));
      else fields[i] = String(v);
    }
    const line = fields.join(',');
    this.lines.push(line);
    this.pending += line.length;
    this.rows++;
    if (this.pending >= FLUSH_AT) this.flush();
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.lines.length) writeSync(this.fd, `${this.lines.join('\n')}\n`);
    this.lines = [];
    this.pending = 0;
  }
}

const quoted = (v: string) => (/[",\n\r\\]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** Loads every row of a closed CsvFile into `table`. */
export async function loadCsv(db: Database, table: string, path: string): Promise<void> {
  // Only type imports of DuckDB here: the tracking worker writes CsvFiles without loading it.
  const reader = await db.connection.runAndReadAll('SELECT column_name AS name, data_type AS type FROM duckdb_columns() WHERE table_name = $1 ORDER BY column_index', [table]);
  const columns = reader.getRowObjectsJS() as { name: string; type: string }[];
  // Column names and types come from the table's own definition, never from input. Lists are
  // read as their JSON text. A quoted field is never NULL: CsvFile writes NULL unquoted, so a
  // name that is literally \N stays a name.
  const isList = (c: { type: string }) => c.type.endsWith('[]');
  const spec = columns.map((c) => `'${c.name}': '${isList(c) ? 'VARCHAR' : c.type}'`).join(', ');
  const values = columns.map((c) => (isList(c) ? `from_json("${c.name}", '["${c.type.slice(0, -2)}"]')` : `"${c.name}"`)).join(', ');
  await db.connection.run(
    `INSERT INTO ${table} SELECT ${values} FROM read_csv($path, header = false, auto_detect = false, nullstr = '\\N', allow_quoted_nulls = false, quote = '"', escape = '"', columns = {${spec}})`,
    { path },
  );
}
