import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query } from '../../analyzer/db/database.js';
import { repoRoot, scratch } from '../helpers/paths.js';

const sessions = ['linux-dns.npsession', 'http-get.npsession'].map((f) => join(repoRoot, 'fixtures', f));

/** Every packet of every session, as the packets view gives them, in a fixed order. */
const allPackets = `SELECT * EXCLUDE (session_id), session_id FROM packets ORDER BY session_id, packet_no`;

describe('where packet rows live', () => {
  it('in memory: one Parquet file per session in the private folder, the same rows as a database file holds, the folder gone at close', async () => {
    const inMemory = await analyze(sessions, { db: null });
    const folder = inMemory.db.tempFolder;
    const files = readdirSync(folder).filter((f) => f.startsWith('packets-')).sort();
    expect(files).toEqual(['packets-1.parquet', 'packets-2.parquet', 'packets-none.parquet']);
    const memoryRows = await query(inMemory.db, allPackets);
    const counts = await query(inMemory.db, 'SELECT session_id, count(*) AS n FROM packets GROUP BY ALL ORDER BY session_id');
    inMemory.db.close();
    expect(existsSync(folder)).toBe(false);

    const onDisk = await analyze(sessions, { db: join(scratch(), 'case.duckdb') });
    const tables = await query(onDisk.db, `SELECT table_name FROM duckdb_tables() WHERE table_name = 'packet_rows'`);
    const diskRows = await query(onDisk.db, allPackets);
    const diskFolder = onDisk.db.tempFolder;
    // Copied in and removed: a database file never depends on a file beside it.
    expect(readdirSync(diskFolder).filter((f) => f.endsWith('.parquet'))).toEqual([]);
    onDisk.db.close();

    expect(tables).toHaveLength(1);
    expect(counts.map((c) => c.n)).toEqual(expect.arrayContaining([inMemory.results[0].packets, inMemory.results[1].packets]));
    expect(memoryRows.length).toBe(inMemory.results[0].packets + inMemory.results[1].packets);
    expect(memoryRows).toEqual(diskRows);
  }, 30_000);
});
