/**
 * Query results and the formats they are written in: an aligned table fitted to the terminal,
 * CSV, a JSON array, JSON lines, or Parquet (written by DuckDB itself).
 */
import { writeOutputFile, type OutputPolicy } from '../../recorder/output-file.js';
import type { DuckDBResultReader } from '@duckdb/node-api';

export interface ResultTable {
  columns: string[];
  /** Values as JSON-ready data: bigints that fit become numbers, timestamps ISO text. */
  rows: unknown[][];
}

export function resultRows(reader: DuckDBResultReader): ResultTable {
  const columns = reader.columnNames();
  const rows = reader.getRowsJson().map((row) => row.map(plain));
  return { columns, rows };
}

/** JSON-ready values from DuckDB's JSON conversion: numeric strings of BIGINTs stay exact. */
function plain(value: unknown): unknown {
  if (typeof value === 'string' && /^-?\d{1,15}$/.test(value)) return Number(value);
  return value;
}

export type Format = 'table' | 'csv' | 'json' | 'ndjson' | 'parquet';

export function formatResult(result: ResultTable, format: Exclude<Format, 'parquet'>, width = 0): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(result.rows.map((r) => Object.fromEntries(r.map((v, i) => [result.columns[i], v]))), null, 2)}\n`;
    case 'ndjson':
      return result.rows.map((r) => `${JSON.stringify(Object.fromEntries(r.map((v, i) => [result.columns[i], v])))}\n`).join('');
    case 'csv':
      return `${[result.columns.map(csvCell).join(','), ...result.rows.map((r) => r.map(csvCell).join(','))].join('\n')}\n`;
    case 'table':
      return fittedTable(result, width);
  }
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(text).join(' ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function csvCell(value: unknown): string {
  const t = text(value);
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** Columns sized to their content; when too wide for the terminal, the widest are cut with "…". */
function fittedTable(result: ResultTable, width: number): string {
  if (result.rows.length === 0) return `(no rows)\n`;
  const cells = [result.columns, ...result.rows.map((r) => r.map((v) => (v === null ? '-' : text(v))))];
  const widths = result.columns.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  if (width > 0) {
    const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
    while (total() > width) {
      const widest = widths.indexOf(Math.max(...widths));
      if (widths[widest] <= 8) break;
      widths[widest]--;
    }
  }
  const numeric = result.columns.map((_, i) => result.rows.every((r) => r[i] === null || typeof r[i] === 'number'));
  const fit = (t: string, w: number) => (t.length > w ? `${t.slice(0, w - 1)}…` : t);
  return `${cells.map((r) => r.map((c, i) => (numeric[i] ? fit(c, widths[i]).padStart(widths[i]) : fit(c, widths[i]).padEnd(widths[i]))).join('  ').trimEnd()).join('\n')}\n`;
}

/** Writes output text to stdout, or to a file as every output is written (output-file.ts). */
export function writeText(output: string | undefined, content: string, policy: OutputPolicy): void {
  if (!output || output === '-') process.stdout.write(content);
  else writeOutputFile(output, content, policy);
}
