/**
 * Rows with strings, loaded in bulk: rows become CSV text in private temporary files (CsvParts,
 * which needs no database, so a worker thread can write it), and DuckDB reads each finished part
 * with one INSERT ... SELECT FROM read_csv (StagedLoads) while the next is being written.
 *
 * Written because the row-wise Appender costs ~5 µs per flow row (24 columns, 7 of them text):
 * 0.85 s on the main thread for 170,000 flows in the benchmark, while CSV text plus read_csv
 * measured ~1 µs per row, most of it off the main thread inside DuckDB. Parts, rather than one
 * file read at the end: reading 77,592 flows and 360,000 DNS rows after the last packet took
 * 0.5–0.9 s that nothing else overlapped.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';

const FLUSH_AT = 256 << 10;
/** A part is handed over for loading once it holds this much text. */
const PART_AT = 4 << 20;

/** The rows of one table as numbered CSV files in `dir`, each handed to `onPart` once closed. */
export class CsvParts {
  private file: CsvFile | null = null;
  private parts = 0;
  rows = 0;

  constructor(
    private readonly dir: string,
    private readonly table: string,
    private readonly onPart: (table: string, path: string) => void,
  ) {}

  /** One row in the table's column order (see csvLine). */
  row(values: readonly unknown[]): void {
    this.line(csvLine(values));
  }

  /** One row already in CSV (csvLine), without its line end. */
  line(text: string): void {
    this.file ??= new CsvFile(join(this.dir, `${this.table}-${++this.parts}.csv`));
    this.file.line(text);
    this.rows++;
    if (this.file.bytes >= PART_AT) this.endPart();
  }

  close(): void {
    this.endPart();
  }

  private endPart(): void {
    if (!this.file) return;
    this.file.close();
    this.onPart(this.table, this.file.path);
    this.file = null;
  }
}

/** One CSV file of a table's rows: a part of CsvParts. */
class CsvFile {
  private readonly fd: number;
  /**
   * Lines not yet written, each one flat string (joined, not built by +=: a line of ~30 appended
   * pieces is a rope of ~60 objects, and ropes waiting for a flush made a third of the tracking
   * worker's garbage collection).
   */
  private lines: string[] = [];
  private pending = 0;
  /** Characters of CSV text so far. */
  bytes = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w', 0o600);
  }

  line(line: string): void {
    this.lines.push(line);
    this.pending += line.length + 1;
    this.bytes += line.length + 1;
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

const fields: string[] = [];

/**
 * Values as one CSV line (no line end) in the table's column order: null is NULL, an array a
 * list (as JSON: loadCsv reads it back). One flat string (see CsvFile.lines).
 */
export function csvLine(values: readonly unknown[]): string {
  fields.length = values.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) fields[i] = '\\N';
    else if (typeof v === 'string') fields[i] = quoted(v);
    else if (Array.isArray(v)) fields[i] = quoted(JSON.stringify(v));
    else fields[i] = String(v);
  }
  return fields.join(',');
}

/** A text field, quoted when it must be: an empty one too, which unquoted would read back as NULL. */
const quoted = (v: string) => (v === '' || /[",\n\r\\]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * Loads CSV parts as they come, each table on a connection of its own: the caller goes on
 * (appending packets on its own connection) while DuckDB reads, and the last flows and DNS parts,
 * which come after the last packet, load side by side. Parts that arrive while a table's load
 * runs are read together by its next one (five flows parts at once: 0.35 s, one by one:
 * 0.5–0.6 s). `done` waits for every part and throws the first failure; `close` then closes the
 * connections. `fixed` columns are the same in every row of every part (a load's session_id), so
 * the parts leave them out (see loadCsv).
 */
export class StagedLoads {
  private readonly tables = new Map<string, { waiting: string[]; running: Promise<void> | null; connection: Promise<DuckDBConnection> }>();
  private failure: unknown = null;

  constructor(
    private readonly connect: () => Promise<DuckDBConnection>,
    private readonly fixed: Record<string, string> = {},
  ) {}

  load(table: string, path: string): void {
    let loads = this.tables.get(table);
    if (!loads) this.tables.set(table, (loads = { waiting: [], running: null, connection: this.connect() }));
    loads.waiting.push(path);
    loads.running ??= this.pump(table, loads);
  }

  async done(): Promise<void> {
    for (let running = this.running(); running.length; running = this.running()) await Promise.all(running);
    if (this.failure !== null) throw this.failure;
  }

  /** Waits for every load, failed or not, and closes the connections. */
  async close(): Promise<void> {
    await this.done().catch(() => {});
    for (const { connection } of this.tables.values()) (await connection.catch(() => null))?.closeSync();
  }

  private running(): Promise<void>[] {
    return [...this.tables.values()].flatMap(({ running }) => (running ? [running] : []));
  }

  private async pump(table: string, loads: { waiting: string[]; running: Promise<void> | null; connection: Promise<DuckDBConnection> }): Promise<void> {
    try {
      while (loads.waiting.length) {
        const paths = loads.waiting.splice(0);
        try {
          if (this.failure === null) await loadCsv(await loads.connection, table, paths, this.fixed);
        } catch (err) {
          this.failure ??= err;
        } finally {
          for (const path of paths) rmSync(path, { force: true });
        }
      }
    } finally {
      loads.running = null;
    }
  }
}

/**
 * Loads every row of closed CsvFiles into `table`. Columns named in `fixed` take its value in
 * every row and are not in the files: the rows hold the table's other columns, in order (a
 * session_id repeated on each row was a fifth of the DNS rows' text).
 */
export async function loadCsv(connection: DuckDBConnection, table: string, paths: string[], fixed: Record<string, string> = {}): Promise<void> {
  // Only type imports of DuckDB here: the tracking worker writes CsvFiles without loading it.
  // Not duckdb_columns(): it binds every view, the packets view's Parquet files too (20-30 ms a part during a load).
  const reader = await connection.runAndReadAll('SELECT name, type FROM pragma_table_info($1) ORDER BY cid', [table]);
  const columns = reader.getRowObjectsJS() as { name: string; type: string }[];
  const read = columns.filter((c) => !(c.name in fixed));
  const fixedNames = Object.keys(fixed);
  // Column names and types come from the table's own definition, never from input. Lists are
  // read as their JSON text. A quoted field is never NULL: CsvFile writes NULL unquoted, so a
  // name that is literally \N stays a name.
  const isList = (c: { type: string }) => c.type.endsWith('[]');
  const spec = read.map((c) => `'${c.name}': '${isList(c) ? 'VARCHAR' : c.type}'`).join(', ');
  const value = (c: { name: string; type: string }) =>
    c.name in fixed ? `$fixed${fixedNames.indexOf(c.name)}` : isList(c) ? `from_json("${c.name}", '["${c.type.slice(0, -2)}"]')` : `"${c.name}"`;
  const values = columns.map(value).join(', ');
  await connection.run(
    `INSERT INTO ${table} SELECT ${values} FROM read_csv(string_split($paths, chr(10)), header = false, auto_detect = false, nullstr = '\\N', allow_quoted_nulls = false, quote = '"', escape = '"', columns = {${spec}})`,
    // The list travels as newline-joined text: a bound parameter, and no temporary path holds a newline.
    { paths: paths.join('\n'), ...Object.fromEntries(fixedNames.map((name, i) => [`fixed${i}`, fixed[name]])) },
  );
}
