/**
 * Flows and DNS rows as Parquet parts (parquet-rows.ts) into the analysis (staged-parts.ts): every
 * value read back as written, through the in-memory views and through a database file's INSERTs.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, query, type Database } from '../../analyzer/db/database.js';
import { ParquetParts, type PlainColumn } from '../../analyzer/db/parquet-rows.js';
import { privateFolder } from '../../analyzer/db/private-folder.js';
import { PART_TABLES, StagedParts } from '../../analyzer/db/staged-parts.js';
import { tableColumns } from '../../analyzer/db/table-columns.js';
import { scratch } from '../helpers/paths.js';

let db: Database | null = null;
let staging: ReturnType<typeof privateFolder> | null = null;
afterEach(() => {
  db?.close();
  staging?.remove();
  db = staging = null;
});

const HOSTILE = ['a,b', 'say "hi"', 'two\nlines', 'cr\rhere', 'back\\slash', '\\N', '', '[x, y]', 'ü€\u0000', 'long '.repeat(80), '\u{1F600}'];

/** dns rows reaching every column type's edges: text of every kind, NULLs, lists, times past 2^53. */
function dnsRows(count: number): unknown[][] {
  return Array.from({ length: count }, (_, i) => {
    const text = HOSTILE[i % HOSTILE.length];
    return [
      `session ${i % 3}`, i % 5 === 0 ? 2n ** 53n + BigInt(i) : i % 11 === 0 ? -i * 1_000_000_007 : i * 1_000_003, i % 7 === 0 ? null : `C${i}`, i % 2 ? -(2 ** 31) + i : 2 ** 31 - 1 - i,
      text, i % 4 === 0 ? null : `10.0.${i % 256}.1`, i % 3 === 0 ? null : i % 2 === 0, i % 6 === 0 ? null : text.toUpperCase(), 'AAAA', null,
      i % 5 === 1 ? null : [text, `${text},${text}`, '"]'], i % 9 === 0 ? [] : [i, -1, 2 ** 31 - 1],
    ];
  });
}

async function stageDns(
  path: string | null, rows: unknown[][], write = (dns: ParquetParts, rows: unknown[][]) => rows.forEach((row) => dns.row(row)),
): Promise<{ parts: string[]; loaded: Record<string, unknown>[] }> {
  db = await openDatabase(path);
  staging = privateFolder('netprov-test-');
  const staged = new StagedParts(db, 1);
  const parts: string[] = [];
  const dns = new ParquetParts(staging.path, 'dns', tableColumns('dns'), (table, part) => {
    parts.push(part);
    staged.add(table, part);
  });
  write(dns, rows);
  dns.close();
  await staged.done();
  await staged.close();
  return { parts, loaded: await query(db, 'SELECT * FROM dns ORDER BY flow_uid NULLS FIRST, t') };
}

function expected(rows: unknown[][]): Record<string, unknown>[] {
  const names = tableColumns('dns').map((c) => c.name);
  const objects = rows.map((row) => Object.fromEntries(names.map((name, c) => [name, typeof row[c] === 'bigint' && (row[c] as bigint) < 2n ** 53n ? Number(row[c]) : row[c]])));
  const key = (o: Record<string, unknown>) => [o.flow_uid === null ? 0 : 1, String(o.flow_uid), BigInt(o.t as number | bigint)] as const;
  return objects.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0);
  });
}

/** A column's values in PLAIN layout (parquet-rows.ts PlainColumn), as the native tracker gives its columns. */
function plainColumn(values: unknown[], type: string): PlainColumn {
  const present = new Uint8Array(Math.ceil(values.length / 8));
  const pieces: Buffer[] = [];
  values.forEach((value, i) => {
    if (value === null) return;
    present[i >> 3] |= 1 << (i & 7);
    const piece = Buffer.alloc(type === 'INTEGER' ? 4 : type === 'BIGINT' ? 8 : 4 + Buffer.byteLength(value as string));
    if (type === 'INTEGER') piece.writeInt32LE(value as number);
    else if (type === 'BIGINT') piece.writeBigInt64LE(BigInt(value as number | bigint));
    else piece.write(value as string, piece.writeUInt32LE(piece.length - 4));
    pieces.push(piece);
  });
  return { values: Buffer.concat(pieces), present };
}

/** Row by row, as text (bigints marked): toEqual over 150,000 objects takes longer than the test may. */
function expectSame(loaded: Record<string, unknown>[], want: Record<string, unknown>[]): void {
  const text = (row: Record<string, unknown>) => JSON.stringify(row, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
  expect(loaded).toHaveLength(want.length);
  const first = loaded.findIndex((row, i) => text(row) !== text(want[i]));
  if (first >= 0) expect(loaded[first], `row ${first}`).toEqual(want[first]);
}

describe('flows and DNS rows as Parquet parts', () => {
  it('read back through the in-memory view with every value as written, part after part', { timeout: 60_000 }, async () => {
    const rows = dnsRows(150_000);
    const { parts, loaded } = await stageDns(null, rows);
    expect(parts.length).toBe(3); // 65,536 rows a part
    expectSame(loaded, expected(rows));
    // The parts now belong to the analysis: moved out of the load's folder into the database's.
    expect(readdirSync(staging!.path)).toEqual([]);
    expect(readdirSync(db!.tempFolder).filter((f) => f.includes('dns-'))).toHaveLength(4); // and the empty one the view binds to
  });

  it('given in PLAIN layout, column by column, between rows given one by one, read back as written and in order', async () => {
    const rows = dnsRows(10_000);
    const plain = new Set(['t', 'flow_uid', 'trans_id', 'client', 'query']);
    const { loaded } = await stageDns(null, rows, (dns, all) => {
      all.slice(0, 3_000).forEach((row) => dns.row(row));
      const group = all.slice(3_000, 9_000);
      const columns = tableColumns('dns').map(({ name, type }, c) => {
        const values = group.map((row) => row[c]);
        return plain.has(name) ? plainColumn(values, type) : values;
      });
      dns.plainRows(columns, group.length);
      all.slice(9_000).forEach((row) => dns.row(row));
    });
    expectSame(loaded, expected(rows));
  });

  it('are copied into a database file with every value as written, and removed once in', { timeout: 60_000 }, async () => {
    const rows = dnsRows(70_000);
    const { parts, loaded } = await stageDns(join(scratch(), 'staged.duckdb'), rows);
    expect(parts.length).toBe(2);
    expectSame(loaded, expected(rows));
    for (const part of parts) expect(existsSync(part)).toBe(false);
  });

  it.each(PART_TABLES)('%s: its in-memory view has the columns and types schema.sql gives the table, lists included', async (table) => {
    db = await openDatabase(null);
    const types = await query(db, 'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position', [table]);
    expect(types.map((t) => `${t.column_name} ${t.data_type}`)).toEqual(tableColumns(table).map((c) => `${c.name} ${c.type}`));
    expect(types.length).toBeGreaterThan(10);
  });

  it('report the first failed INSERT once every part has been tried, and close their connections', async () => {
    db = await openDatabase(join(scratch(), 'failing.duckdb'));
    staging = privateFolder('netprov-test-');
    await db.connection.run('DROP TABLE dns');
    const staged = new StagedParts(db, 1);
    const dns = new ParquetParts(staging.path, 'dns', tableColumns('dns'), (table, part) => staged.add(table, part));
    for (const row of dnsRows(100)) dns.row(row);
    dns.close();
    await expect(staged.done()).rejects.toThrow(/dns/);
    await staged.close();
    expect(readdirSync(staging.path)).toEqual([]);
  });
});
