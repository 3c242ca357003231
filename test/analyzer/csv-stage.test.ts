import { existsSync, readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, query, type Database } from '../../analyzer/db/database.js';
import { CsvParts, StagedLoads } from '../../analyzer/db/csv-stage.js';
import { privateFolder } from '../../analyzer/db/private-folder.js';

let db: Database | null = null;
let staging: ReturnType<typeof privateFolder> | null = null;
afterEach(() => {
  db?.close();
  staging?.remove();
  db = staging = null;
});

async function stage(rows: unknown[][]): Promise<{ parts: string[]; loaded: Record<string, unknown>[] }> {
  db = await openDatabase(null);
  await db.connection.run('CREATE TABLE staged (s VARCHAR, n BIGINT, b BOOLEAN, names VARCHAR[], ttls INTEGER[])');
  staging = privateFolder('netprov-');
  const loads = new StagedLoads(() => db!.connect());
  const parts: string[] = [];
  const csv = new CsvParts(staging.path, 'staged', (table, path) => {
    parts.push(path);
    loads.load(table, path);
  });
  for (const row of rows) csv.row(row);
  csv.close();
  await loads.done();
  await loads.close();
  return { parts, loaded: await query(db, 'SELECT * FROM staged ORDER BY n') };
}

describe('CSV staging', () => {
  it('reads back every value as it was written, whatever its characters', async () => {
    const hostile = ['a,b', 'say "hi"', 'two\nlines', 'cr\rhere', 'back\\slash', '\\N', '', '[x, y]', 'ü€\u0000'];
    const rows = hostile.map((s, i) => [s, BigInt(2 ** 53) + BigInt(i), i % 2 === 0, [s, `${s},${s}`, '"]'], [i, -1]]);
    rows.push([null, BigInt(2 ** 53) + 100n, null, null, null]);
    const { loaded } = await stage(rows);
    expect(loaded).toEqual(rows.map(([s, n, b, names, ttls]) => ({ s, n, b, names, ttls })));
  });

  it('fills fixed columns from their bound value, reading the others from the parts', async () => {
    db = await openDatabase(null);
    await db.connection.run('CREATE TABLE fixed_staged (n BIGINT, session_id VARCHAR, s VARCHAR)');
    staging = privateFolder('netprov-');
    const loads = new StagedLoads(() => db!.connect(), { session_id: "it's 'quoted'" });
    const csv = new CsvParts(staging.path, 'fixed_staged', (table, path) => loads.load(table, path));
    csv.row([1, 'one']);
    csv.row([2, null]);
    csv.close();
    await loads.close();
    expect(await query(db, 'SELECT * FROM fixed_staged ORDER BY n')).toEqual([
      { n: 1, session_id: "it's 'quoted'", s: 'one' },
      { n: 2, session_id: "it's 'quoted'", s: null },
    ]);
  });

  it('hands over a part every few MB, loads each, and removes it once loaded', async () => {
    const rows = Array.from({ length: 120_000 }, (_, i) => [`row ${i} ${'x'.repeat(60)}`, BigInt(i), true, null, null]);
    const { parts, loaded } = await stage(rows);
    expect(parts.length).toBeGreaterThan(1);
    expect(loaded).toHaveLength(rows.length);
    expect(loaded[119_999].s).toBe(rows[119_999][0]);
    for (const part of parts) expect(existsSync(part)).toBe(false);
    expect(readdirSync(staging!.path)).toEqual([]);
  });
});

describe('staged loads of several tables', () => {
  it('loads each table on its own connection, and reports the first failure once every load has ended', async () => {
    db = await openDatabase(null);
    await db.connection.run('CREATE TABLE one (n BIGINT); CREATE TABLE two (n BIGINT)');
    staging = privateFolder('netprov-');
    let connections = 0;
    const loads = new StagedLoads(() => (connections++, db!.connect()));
    for (const table of ['one', 'two', 'missing']) {
      const csv = new CsvParts(staging.path, table, (name, path) => loads.load(name, path));
      for (let n = 0; n < 1000; n++) csv.row([n]);
      csv.close();
    }
    await expect(loads.done()).rejects.toThrow(/missing/);
    await loads.close();
    expect(connections).toBe(3);
    expect(await query(db, 'SELECT (SELECT count(*) FROM one) AS one, (SELECT count(*) FROM two) AS two')).toEqual([{ one: 1000, two: 1000 }]);
    expect(readdirSync(staging.path)).toEqual([]);
  });
});
