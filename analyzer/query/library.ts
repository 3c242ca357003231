/**
 * The named forensic queries in queries/: one SQL file per question. A file's header comment
 * is its documentation and its interface:
 *
 *   -- Title.
 *   -- Question: what it answers.
 *   -- @param name TYPE [= default]  description
 *
 * Parameters are bound by DuckDB ($name in the SQL), never spliced into the text.
 */
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBType } from '@duckdb/node-api';
import { InputError } from '../../recorder/errors.js';
import type { Database } from '../db/database.js';
import { projectFile } from '../../recorder/project.js';
import { resultRows, type ResultTable } from './result.js';

export interface QueryParam {
  name: string;
  type: 'VARCHAR' | 'BIGINT' | 'DOUBLE';
  /** Text of the default; undefined = required; 'NULL' = optional without a value. */
  default: string | undefined;
  description: string;
}

export interface NamedQuery {
  name: string;
  title: string;
  question: string;
  params: QueryParam[];
  sql: string;
  file: string;
}

const PARAM = /^--\s*@param\s+(\w+)\s+(VARCHAR|BIGINT|DOUBLE)(?:\s*=\s*(\S+))?\s*(.*)$/;
type ParamType = QueryParam['type'];

/** DuckDB's types for the parameters, loaded with DuckDB itself (not at start-up: see database.ts). */
async function duckDbTypes(types: Record<string, ParamType>): Promise<Record<string, DuckDBType>> {
  const { duckdb } = await import('../db/duckdb.js');
  return Object.fromEntries(Object.entries(types).map(([name, type]) => [name, duckdb[type]]));
}

export function queryLibrary(dir = projectFile('queries')): NamedQuery[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => parseQuery(join(dir, f)));
}

function parseQuery(file: string): NamedQuery {
  const sql = readFileSync(file, 'utf8');
  const header = sql.split('\n').filter((l) => l.startsWith('--'));
  const params: QueryParam[] = [];
  let question = '';
  for (const line of header) {
    const param = PARAM.exec(line);
    if (param) params.push({ name: param[1], type: param[2] as QueryParam['type'], default: param[3], description: param[4].trim() });
    else if (/^--\s*Question:/.test(line)) question = line.replace(/^--\s*Question:\s*/, '');
  }
  const name = file.split('/').pop()!.replace(/\.sql$/, '');
  return { name, title: (header[0] ?? '').replace(/^--\s*/, ''), question, params, sql, file };
}

/** Turns `--param k=v` text into bound values, checking names, presence and types. */
export function bindParams(query: NamedQuery, given: Record<string, string>): { values: Record<string, unknown>; types: Record<string, ParamType> } {
  const known = new Set(query.params.map((p) => p.name));
  for (const name of Object.keys(given)) {
    if (!known.has(name)) throw new InputError(`query ${query.name}: no parameter ${name} (it takes: ${query.params.map((p) => p.name).join(', ') || 'none'})`);
  }
  const values: Record<string, unknown> = {};
  const types: Record<string, ParamType> = {};
  for (const p of query.params) {
    const text = given[p.name] ?? p.default;
    if (text === undefined) throw new InputError(`query ${query.name}: parameter ${p.name} is required (${p.description})`);
    types[p.name] = p.type;
    if (text === 'NULL' && given[p.name] === undefined) values[p.name] = null;
    else if (p.type === 'VARCHAR') values[p.name] = text;
    else {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n) || (p.type === 'BIGINT' && !Number.isSafeInteger(n))) {
        throw new InputError(`query ${query.name}: parameter ${p.name} must be ${p.type === 'BIGINT' ? 'an integer' : 'a number'}, not ${JSON.stringify(text)}`);
      }
      values[p.name] = p.type === 'BIGINT' ? BigInt(n) : n;
    }
  }
  return { values, types };
}

/** A statement ready to run: SQL text and its bound parameters. */
export interface Statement {
  label: string;
  /** Whose SQL it is: a failure of the user's is theirs to fix (exit 1); of a named query, netprov's (see `failure`). */
  author: 'user' | 'netprov';
  sql: string;
  values: Record<string, unknown>;
  types: Record<string, ParamType>;
}

export function namedStatement(name: string, given: Record<string, string>): Statement {
  const query = queryLibrary().find((q) => q.name === name);
  if (!query) throw new InputError(`no query named ${name} (netprov query --list shows them)`);
  return { label: `query ${name}`, author: 'netprov', sql: query.sql, ...bindParams(query, given) };
}

export const sqlStatement = (sql: string): Statement => ({ label: 'sql', author: 'user', sql, values: {}, types: {} });

export async function run(db: Database, statement: Statement): Promise<ResultTable> {
  try {
    return resultRows(await db.connection.runAndReadAll(statement.sql, statement.values as never, await duckDbTypes(statement.types)));
  } catch (err) {
    throw failure(statement, (err as Error).message);
  }
}

/**
 * What a failed statement is. The user's SQL, or a value they gave a named query that DuckDB
 * cannot convert (`timeline -p from=yesterday`): an InputError, exit 1. Any other failure of a
 * named query is netprov's own SQL failing: an internal error (exit 2), unless the machine's
 * (memory, disk: the CLI's environmentError reads the message).
 */
function failure(statement: Statement, message: string, output?: string): Error {
  const line = `${statement.label}: ${output ? `${output}: ` : ''}${message.split('\n')[0]}`;
  return statement.author === 'user' || /^Conversion Error/.test(message) ? new InputError(line) : new Error(line);
}

/** Writes the statement's result as Parquet through DuckDB's COPY; the path is bound too. */
export async function writeParquet(db: Database, statement: Statement, path: string): Promise<void> {
  const body = statement.sql.replace(/;\s*$/, '');
  try {
    await db.connection.run(`COPY (${body}\n) TO $netprov_output (FORMAT parquet)`, { ...statement.values, netprov_output: path } as never, await duckDbTypes({
      ...statement.types,
      netprov_output: 'VARCHAR',
    }));
    chmodSync(path, 0o600); // DuckDB creates it with the process umask; the CLI's is 077, a library caller's may not be
  } catch (err) {
    throw failure(statement, (err as Error).message, path);
  }
}
