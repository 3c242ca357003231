/**
 * Where the Parquet parts of a load's flows and DNS rows (parquet-rows.ts) end up. In memory a
 * table is a view over its parts, moved into the analysis's private folder: DuckDB reads them
 * where they are, with no ingest of their own. In a database file each part is copied in with
 * one INSERT as it arrives, each table on a connection of its own, so that the caller goes on
 * (appending packets on its own connection) while DuckDB reads; parts that arrive while a
 * table's INSERT runs are read together by its next one.
 */
import { renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Database } from './database.js';
import { ParquetRows } from './parquet-rows.js';
import { tableColumns } from './table-columns.js';

/** The tables whose rows come as parts. */
export const PART_TABLES = ['flows', 'dns'] as const;

/**
 * In an in-memory database: `table` becomes a view over the Parquet parts listed in the
 * `<table>_parts` variable, which starts with one of no rows (a view needs a file to bind to).
 * Its columns are the table's, in order and type: lists come back from their JSON text.
 */
export async function tableOverParts(connection: DuckDBConnection, table: string, folder: string): Promise<void> {
  const none = join(folder, `${table}-none.parquet`);
  new ParquetRows(none, tableColumns(table)).close();
  const columns = await selectList(connection, table);
  await connection.run(`DROP TABLE ${table}`);
  await connection.run(`SET VARIABLE ${table}_parts = [$file]`, { file: none });
  await connection.run(`CREATE VIEW ${table} AS SELECT ${columns} FROM read_parquet(getvariable('${table}_parts'))`);
}

/** A load's parts, put where they belong as they come (see the file's comment); `done` once the last has come. */
export class StagedParts {
  private readonly inserts = new Map<string, { waiting: string[]; running: Promise<void> | null; connection: Promise<DuckDBConnection> }>();
  /** In memory: parts moved into the analysis's folder, not yet in their view's list. */
  private readonly moved: { table: string; path: string }[] = [];
  private failure: unknown = null;

  constructor(
    private readonly db: Pick<Database, 'inMemory' | 'tempFolder' | 'connection' | 'connect'>,
    /** Names the parts apart from other loads' in the analysis's folder. */
    private readonly loadNo: number,
  ) {}

  add(table: string, path: string): void {
    if (this.db.inMemory) {
      const kept = join(this.db.tempFolder, `${this.loadNo}-${basename(path)}`);
      renameSync(path, kept);
      this.moved.push({ table, path: kept });
      return;
    }
    let insert = this.inserts.get(table);
    if (!insert) this.inserts.set(table, (insert = { waiting: [], running: null, connection: this.db.connect() }));
    insert.waiting.push(path);
    insert.running ??= this.pump(table, insert);
  }

  /** Waits for every part to be in its table, and throws the first failure. */
  async done(): Promise<void> {
    for (let running = this.running(); running.length; running = this.running()) await Promise.all(running);
    if (this.failure !== null) throw this.failure;
    // One statement at a time on the connection the views' variables belong to.
    for (const { table, path } of this.moved.splice(0)) {
      await this.db.connection.run(`SET VARIABLE ${table}_parts = list_append(getvariable('${table}_parts'), $file)`, { file: path });
    }
  }

  /** Waits for every INSERT, failed or not, and closes their connections. */
  async close(): Promise<void> {
    for (let running = this.running(); running.length; running = this.running()) await Promise.all(running);
    for (const { connection } of this.inserts.values()) (await connection.catch(() => null))?.closeSync();
  }

  private running(): Promise<void>[] {
    return [...this.inserts.values()].flatMap(({ running }) => (running ? [running] : []));
  }

  private async pump(table: string, insert: { waiting: string[]; running: Promise<void> | null; connection: Promise<DuckDBConnection> }): Promise<void> {
    try {
      while (insert.waiting.length) {
        const paths = insert.waiting.splice(0);
        try {
          if (this.failure === null) await insertParts(await insert.connection, table, paths);
        } catch (err) {
          this.failure ??= err;
        } finally {
          for (const path of paths) rmSync(path, { force: true });
        }
      }
    } finally {
      insert.running = null;
    }
  }
}

/** Copies every row of the parts at `paths` into `table`. */
export async function insertParts(connection: DuckDBConnection, table: string, paths: string[]): Promise<void> {
  const columns = await selectList(connection, table);
  // The list travels as newline-joined text: a bound parameter, and no temporary path holds a newline.
  await connection.run(`INSERT INTO ${table} SELECT ${columns} FROM read_parquet(string_split($paths, chr(10)))`, { paths: paths.join('\n') });
}

/**
 * The table's columns as read from its parts: each by name, a list from its JSON text. Names and
 * types come from the table's own definition, never from input.
 */
async function selectList(connection: DuckDBConnection, table: string): Promise<string> {
  // Not duckdb_columns(): it binds every view, the packets view's Parquet files too (20-30 ms a part during a load).
  const reader = await connection.runAndReadAll('SELECT name, type FROM pragma_table_info($1) ORDER BY cid', [table]);
  const columns = reader.getRowObjectsJS() as { name: string; type: string }[];
  return columns.map(({ name, type }) => (type.endsWith('[]') ? `from_json("${name}", '["${type.slice(0, -2)}"]') AS "${name}"` : `"${name}"`)).join(', ');
}
