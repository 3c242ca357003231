/**
 * A table's columns as schema.sql defines them, read from the file itself: the tracking thread
 * writes the flows and dns rows without DuckDB (it never loads it), and schema.sql stays the one
 * place their names, order and types are written down.
 */
import { readFileSync } from 'node:fs';
import { projectFile } from '../../recorder/project.js';

export interface TableColumn {
  name: string;
  /** DuckDB's type as written in schema.sql: VARCHAR, BIGINT, INTEGER[], ... */
  type: string;
}

let schema: string | null = null;

export function tableColumns(table: string): TableColumn[] {
  schema ??= readFileSync(projectFile('analyzer/schema.sql'), 'utf8');
  const body = new RegExp(`^CREATE TABLE IF NOT EXISTS ${table} \\(\\n([\\s\\S]*?)^\\);`, 'm').exec(schema)?.[1];
  if (!body) throw new Error(`schema.sql: no table ${table}`);
  const columns: TableColumn[] = [];
  for (const line of body.split('\n')) {
    const column = /^\s+(\w+)\s+([A-Z]+(?:\[\])?)[\s,]/.exec(`${line} `);
    if (column) columns.push({ name: column[1], type: column[2] });
  }
  return columns;
}
