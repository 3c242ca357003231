import { existsSync, lstatSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, query, type Database } from '../../analyzer/db/database.js';
import { ParquetFile } from '../../analyzer/db/parquet-file.js';
import { Staged, type NumericArray } from '../../analyzer/db/staged.js';
import { scratch } from '../helpers/paths.js';

let db: Database | null = null;
afterEach(() => {
  db?.close();
  db = null;
});

const COLUMNS = [
  { name: 'big', kind: Staged.i64 },
  { name: 'int', kind: Staged.i32 },
  { name: 'uint', kind: Staged.u32 },
  { name: 'small', kind: Staged.i16 },
  { name: 'tiny', kind: Staged.u8 },
];
const PARQUET_COLUMNS = COLUMNS.map(({ name, kind }) => ({ name, type: kind.type }));

/** Rows that reach every column's extremes, as typed arrays and as the objects DuckDB should give back. */
function rows(count: number, seed: number): { arrays: NumericArray[]; expected: Record<string, unknown>[] } {
  const arrays = COLUMNS.map(({ kind }) => new kind.array(count)) as NumericArray[];
  const expected: Record<string, unknown>[] = [];
  const bigs = [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n];
  for (let i = 0; i < count; i++) {
    const row = {
      big: BigInt.asIntN(64, bigs[i % bigs.length] + BigInt(seed)),
      int: i % 3 === 0 ? -(2 ** 31) + i : 2 ** 31 - 1 - i * seed,
      uint: (2 ** 32 - 1 - i * 7919) >>> 0,
      small: i % 2 ? -32768 + i % 100 : 32767 - i % 100,
      tiny: (i * 37 + seed) & 255,
    };
    (arrays[0] as BigInt64Array)[i] = row.big;
    for (const [c, name] of (['int', 'uint', 'small', 'tiny'] as const).entries()) arrays[c + 1][i] = row[name];
    expected.push(row);
  }
  return { arrays, expected };
}

describe('ParquetFile', () => {
  it('is read back by DuckDB with every value and type as written, row group after row group', async () => {
    const path = join(scratch(), 'rows.parquet');
    const file = new ParquetFile(path, PARQUET_COLUMNS);
    const groups = [rows(20_000, 1), rows(7, 2), rows(1, 3)];
    // A row group is a prefix of the arrays: rows past `count` are not written.
    for (const g of groups) file.rowGroup(g.arrays, g.expected.length);
    file.rowGroup(groups[0].arrays, 0);
    file.close();
    expect(lstatSync(path).mode & 0o777).toBe(0o600);

    db = await openDatabase(null);
    const types = await query(db, `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet($1))`, [path]);
    expect(types.map((t) => `${t.column_name} ${t.column_type}`)).toEqual(['big BIGINT', 'int INTEGER', 'uint UINTEGER', 'small SMALLINT', 'tiny UTINYINT']);
    const back = (await db.connection.runAndReadAll('SELECT * FROM read_parquet($1)', [path])).getRowObjectsJS();
    const all = groups.flatMap((g) => g.expected);
    const key = (r: Record<string, unknown>) => `${r.big}|${r.int}|${r.uint}|${r.small}|${r.tiny}`;
    expect(back.map(key).sort()).toEqual(all.map(key).sort());
    const meta = await query(db, 'SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata($1) ORDER BY row_group_id', [path]);
    expect(meta.map((m) => m.row_group_num_rows)).toEqual([20_000, 7, 1]);
  });

  it('with no row groups is a valid file of no rows', async () => {
    const path = join(scratch(), 'none.parquet');
    new ParquetFile(path, PARQUET_COLUMNS).close();
    db = await openDatabase(null);
    expect(await query(db, 'SELECT count(*) AS n FROM read_parquet($1)', [path])).toEqual([{ n: 0 }]);
  });

  it('never replaces a file nor writes through a link', () => {
    const dir = scratch();
    const existing = join(dir, 'there.parquet');
    writeFileSync(existing, 'evidence');
    expect(() => new ParquetFile(existing, PARQUET_COLUMNS)).toThrow(/EEXIST/);
    const link = join(dir, 'link.parquet');
    symlinkSync(join(dir, 'target'), link);
    expect(() => new ParquetFile(link, PARQUET_COLUMNS)).toThrow(/EEXIST|ELOOP/);
    expect(existsSync(join(dir, 'target'))).toBe(false);
  });
});
