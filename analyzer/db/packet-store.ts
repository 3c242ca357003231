/**
 * Where packet_rows live. With --db, in the database file like every table. In memory, as one
 * Parquet file per session in the database's private temporary folder, which packet_rows then
 * is a view over: packets are the bulk of an analysis (84 bytes each), and outside DuckDB they
 * neither count against its memory_limit nor cost its ingest (~35 ns a value: 1.4 s of CPU for
 * 2,000,000 packets of 20 columns, measured here). A load writes the Parquet file either way;
 * a database file then copies it in, in parallel, once the load's own threads are done.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ROW_COLUMNS, type RowColumns } from '../load/packet-batch.js';
import { ParquetFile } from './parquet-file.js';

const COLUMNS = Object.entries(ROW_COLUMNS).map(([name, kind]) => ({ name, type: kind.type }));

/**
 * In an in-memory database: packet_rows becomes a view over the Parquet files listed in the
 * `packet_files` variable, which starts with one of no rows (a view needs a file to bind to).
 */
export async function packetRowsFromFiles(connection: DuckDBConnection, folder: string): Promise<void> {
  const none = join(folder, 'packets-none.parquet');
  new ParquetFile(none, COLUMNS).close();
  await connection.run('DROP TABLE packet_rows');
  await connection.run('SET VARIABLE packet_files = [$file]', { file: none });
  await connection.run(`CREATE VIEW packet_rows AS SELECT * FROM read_parquet(getvariable('packet_files'))`);
}

/** One session's packet rows, written as they are loaded. */
export class PacketRowsWriter {
  /** Time spent writing. */
  seconds = 0;
  private readonly file: ParquetFile;

  constructor(folder: string, sessionNo: number) {
    this.file = new ParquetFile(join(folder, `packets-${sessionNo}.parquet`), COLUMNS);
  }

  append(rows: RowColumns, count: number): void {
    const start = performance.now();
    this.file.rowGroup(Object.values(rows), count);
    this.seconds += (performance.now() - start) / 1000;
  }

  /** Makes the rows part of packet_rows: the file joins the view's list, or is copied into the database file and removed. */
  async finish(connection: DuckDBConnection, inMemory: boolean): Promise<void> {
    this.file.close();
    const file = this.file.path;
    if (inMemory) {
      await connection.run(`SET VARIABLE packet_files = list_append(getvariable('packet_files'), $file)`, { file });
      return;
    }
    await connection.run('INSERT INTO packet_rows SELECT * FROM read_parquet($file)', { file });
    rmSync(file);
  }

  /** A load that failed: the file is closed unfinished (its folder goes with the database). */
  abandon(): void {
    this.file.abandon();
  }
}
