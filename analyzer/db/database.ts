/**
 * The embedded DuckDB that holds an analysis: opened on a file (`--db`) or in memory, with the
 * schema of schema.sql. Every query that takes a value takes it as a bound parameter.
 */
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import { InputError } from '../../recorder/errors.js';
import { checkOutput, lstatOrNull, type OutputPolicy } from '../../recorder/output-file.js';
import { projectFile } from '../../recorder/project.js';
import { privateFolder } from './private-folder.js';

export interface Database {
  connection: DuckDBConnection;
  /** Held in memory, not in a file: packet_rows, flows and dns are then views over Parquet files in `tempFolder` (packet-store.ts, staged-parts.ts). */
  inMemory: boolean;
  /**
   * A file that was there before this open, changed in place: a load that fails must remove its
   * rows again (undo-load.ts). A new file is written through a temporary name that goes instead.
   */
  inPlace: boolean;
  /** The private 0700 folder of DuckDB's spill files and an in-memory analysis's packet files, removed on close. */
  tempFolder: string;
  /**
   * Another connection to the same database (closed by its user), for work that runs beside
   * `connection`'s. In memory it cannot read packet_rows, flows or dns: their views' file lists
   * are variables of `connection` (packet-store.ts, staged-parts.ts).
   */
  connect(): Promise<DuckDBConnection>;
  /** DuckDB's memory limits in MiB: while loading threads run beside it, and after (queries). */
  memory: { load: number; query: number };
  close(): void;
}

/**
 * Opens the analysis in memory (`path` null) or in a file. `read-only` is how every command that
 * only reads an analysis (`--db` of flows, query, sql, report, export) opens it: nothing can
 * change it, and a path that is no database is refused rather than created.
 */
export async function openDatabase(path: string | null, access: 'read-write' | 'read-only' = 'read-write'): Promise<Database> {
  if (path !== null && access === 'read-only' && !isDuckDbFile(path)) throw new InputError(`${path}: not a DuckDB database (netprov analyze --db FILE writes one)`);
  const memory = memoryLimitsMiB(path === null);
  const inPlace = path !== null && lstatOrNull(path) !== null;
  // Loaded here, not imported at the top: ~0.2 s that the loading workers, started first, overlap.
  const { DuckDBInstance } = (await import('./duckdb.js')).duckdb;
  let instance: DuckDBInstance;
  const spill = privateFolder('netprov-spill-');
  try {
    // Results never depend on DuckDB's threads: every output query orders its rows.
    instance = await DuckDBInstance.create(path ?? ':memory:', {
      ...(access === 'read-only' ? { access_mode: 'READ_ONLY' } : {}),
      memory_limit: `${memory.query}MiB`,
      temp_directory: spill.path,
      // Tables need no physical order (every output query orders its rows), and keeping one
      // made INSERT ... SELECT hold whole results in memory instead of spilling.
      preserve_insertion_order: 'false',
    });
  } catch (err) {
    spill.remove();
    throw new InputError(`${path}: cannot open as a DuckDB database (${(err as Error).message.split('\n')[0]})`);
  }
  const connection = await instance.connect();
  const outdated = inPlace ? await missingColumn(connection) : null;
  if (outdated) {
    connection.closeSync();
    instance.closeSync();
    spill.remove();
    throw new InputError(`${path}: made by an earlier netprov (its ${outdated} column is missing); analyse the sessions into a new --db`);
  }
  if (access === 'read-write') {
    await connection.run(readFileSync(projectFile('analyzer/schema.sql'), 'utf8'));
    if (path === null) {
      await (await import('./packet-store.js')).packetRowsFromFiles(connection, spill.path);
      const { PART_TABLES, tableOverParts } = await import('./staged-parts.js');
      for (const table of PART_TABLES) await tableOverParts(connection, table, spill.path);
    }
    await connection.run(readFileSync(projectFile('analyzer/views.sql'), 'utf8'));
  }
  return {
    connection,
    inMemory: path === null,
    inPlace,
    tempFolder: spill.path,
    memory,
    connect: () => instance.connect(),
    close() {
      connection.closeSync();
      instance.closeSync();
      spill.remove();
    },
  };
}

/** The limits on a machine with RAM to spare (`analyze --help` states them). */
export const MEMORY_LIMITS_MIB = { inMemory: { load: 1152, query: 1408 }, db: { load: 224, query: 384 } } as const;

/**
 * DuckDB's memory limits (its default is 80% of RAM: memory would grow with the input). Past
 * them DuckDB spills to a private temporary folder — an in-memory analysis too — so that
 * `analyze` peaks under 1 GiB with --db and 2 GiB in memory whatever the input's size (measured
 * in `npm run bench`), less on a small machine. While a load runs, its two worker threads hold
 * up to ~0.4 GiB beside DuckDB, which then gets the smaller `load` limit (appends spill well);
 * queries — the ASOF join of names to flows, the attribution's aggregates — get `query`.
 * NETPROV_MEMORY_MIB sets both.
 */
export function memoryLimitsMiB(inMemory: boolean): { load: number; query: number } {
  const override = Number(process.env.NETPROV_MEMORY_MIB);
  if (Number.isFinite(override) && override >= 64) return { load: Math.floor(override), query: Math.floor(override) };
  const machine = totalmem() / 2 ** 20;
  const { load, query } = MEMORY_LIMITS_MIB[inMemory ? 'inMemory' : 'db'];
  return { load: Math.floor(Math.min(load, machine / 8)), query: Math.floor(Math.min(query, machine / 6)) };
}

/**
 * The newest column of each table that has gained columns since databases were first written:
 * a database without it was made by an earlier netprov, and rows added to it would not line up.
 * Null when the database is current or new.
 */
const NEWEST_COLUMNS: [string, string][] = [['sessions', 'captures'], ['flows', 'http_host'], ['processes', 'systemd_unit'], ['socket_events', 'netns']];

async function missingColumn(connection: DuckDBConnection): Promise<string | null> {
  const rows = (await connection.runAndReadAll(
    `SELECT table_name, list(column_name) AS columns FROM duckdb_columns() WHERE table_name IN ('sessions', 'flows', 'processes', 'socket_events') AND NOT internal GROUP BY table_name`,
  )).getRowObjectsJS() as { table_name: string; columns: string[] }[];
  for (const [table, column] of NEWEST_COLUMNS) {
    const found = rows.find((r) => r.table_name === table);
    if (found && !found.columns.includes(column)) return `${table}.${column}`;
  }
  return null;
}

/**
 * Closes the database off from everything but itself, before it runs SQL a user wrote (`sql`,
 * `query`): no file is read or written except `allowedPaths` (an output being written) and, in
 * memory, the analysis's own temporary folder (its packet files are packet_rows), no
 * extension is installed or loaded from outside, no database attached, and the configuration
 * locked so that the statement cannot undo it. `allowedPaths` null leaves file access open
 * (--allow-files); extensions stay off and the configuration locked either way.
 */
export async function confine(db: Database, allowedPaths: string[] | null): Promise<void> {
  const c = db.connection;
  await c.run('SET autoinstall_known_extensions = false');
  await c.run('SET autoload_known_extensions = false');
  if (allowedPaths !== null) {
    await c.run(`SET allowed_paths = [${allowedPaths.map((_, i) => `$p${i}`).join(', ')}]`, Object.fromEntries(allowedPaths.map((p, i) => [`p${i}`, p])));
    if (db.inMemory) await c.run('SET allowed_directories = [$folder]', { folder: db.tempFolder });
    await c.run('SET enable_external_access = false');
  }
  await c.run('SET lock_configuration = true');
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

/**
 * An analysis database a command will create or add to (`analyze --db`): nothing there yet
 * ('new', to be written through a temporary name), or a DuckDB database that is not an input
 * and not reached through a link ('existing', added to in place, in DuckDB's transactions).
 * Any other file is refused: netprov adds to its databases and replaces nothing else.
 */
export function checkDatabaseOutput(path: string, policy: OutputPolicy): 'new' | 'existing' {
  const there = lstatOrNull(path);
  // DuckDB would replay a write-ahead log left beside a database since removed into the new one
  // (another analysis's tables, or a refusal to open it): a new database starts with none.
  if (!there && lstatOrNull(`${path}.wal`)) {
    throw new InputError(`${path}.wal: a write-ahead log without its database (left by another analysis); remove it or choose another --db`);
  }
  if (!there) return 'new';
  checkOutput(path, { ...policy, force: true });
  if (!isDuckDbFile(path)) throw new InputError(`${path}: exists and is not a DuckDB database; netprov adds to its own databases and replaces nothing else`);
  return 'existing';
}

/** Is the file at `path` a DuckDB database (its magic at byte 8)? */
export function isDuckDbFile(path: string): boolean {
  const head = Buffer.alloc(12);
  let fd: number | null = null;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    return readSync(fd, head, 0, 12, 0) === 12 && head.subarray(8, 12).toString('latin1') === 'DUCK';
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
