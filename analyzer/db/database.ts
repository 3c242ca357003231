/**
 * The embedded DuckDB that holds an analysis: opened on a file (`--db`) or in memory, with the
 * schema of schema.sql. Every query that takes a value takes it as a bound parameter.
 */
import { readFileSync } from 'node:fs';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { InputError } from '../../recorder/errors.js';
import { projectFile } from '../../recorder/project.js';

export interface Database {
  connection: DuckDBConnection;
  close(): void;
}

export async function openDatabase(path: string | null): Promise<Database> {
  let instance: DuckDBInstance;
  try {
    // Results never depend on DuckDB's threads: every output query orders its rows.
    instance = await DuckDBInstance.create(path ?? ':memory:');
  } catch (err) {
    throw new InputError(`${path}: cannot open as a DuckDB database (${(err as Error).message.split('\n')[0]})`);
  }
  const connection = await instance.connect();
  await connection.run(readFileSync(projectFile('analyzer/schema.sql'), 'utf8'));
  await connection.run(readFileSync(projectFile('analyzer/views.sql'), 'utf8'));
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Rows as plain objects; BIGINTs that fit a double become numbers. */
export async function query(db: Database, sql: string, params: Record<string, DuckDBValue> | DuckDBValue[] = []): Promise<Record<string, unknown>[]> {
  const reader = await db.connection.runAndReadAll(sql, params as DuckDBValue[]);
  return reader.getRowObjectsJS().map((row) => {
    for (const [k, v] of Object.entries(row)) {
      if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) row[k] = Number(v);
    }
    return row as Record<string, unknown>;
  });
}
