import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query, type Database } from '../../analyzer/db/database.js';
import { EXPORTED, exportParquet } from '../../analyzer/export/parquet.js';
import { exportPcapng } from '../../analyzer/export/pcapng.js';
import { exportZeek } from '../../analyzer/export/zeek-logs.js';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';
import { tsharkFields } from '../helpers/tshark.js';

const fixtures = ['macos-curl', 'ftp-ipv4'].map((f) => join(repoRoot, 'fixtures', `${f}.npsession`));
let db: Database;

beforeAll(async () => {
  ({ db } = await analyze(fixtures, { db: null }));
});
afterAll(() => db?.close());

describe('exports', () => {
  it('writes every table as hive-partitioned Parquet that reads back with the same row counts', async () => {
    const dir = join(scratch(), 'lake');
    const counts = await exportParquet(db, dir);
    expect(counts.socket_events).toBe(0); // an empty table writes no files: there is no partition to put rows in
    for (const table of Object.keys(EXPORTED).filter((t) => counts[t] > 0)) {
      const [{ n }] = await query(db, `SELECT count(*) AS n FROM read_parquet($1, hive_partitioning = true)`, [`${dir}/${table}/**/*.parquet`]);
      expect(n, table).toBe(counts[table]);
    }
    const partitions = await query(db, `SELECT host, day::VARCHAR AS day, count(*) AS flows FROM read_parquet($1, hive_partitioning = true) GROUP BY ALL ORDER BY host`, [`${dir}/flows/**/*.parquet`]);
    expect(partitions).toEqual([
      { host: 'mac-mini.local', day: '2024-05-01', flows: 3 },
      { host: 'zeek-trace', day: '2012-02-21', flows: 5 },
    ]);
    expect(statSync(join(dir, 'flows')).mode & 0o777).toBe(0o700);
  });

  it('writes conn.log and dns.log that match the flows, with community_id', async () => {
    const dir = join(scratch(), 'zeek');
    expect(await exportZeek(db, dir)).toEqual({ conn: 8, dns: 1 });
    const conn = readFileSync(join(dir, 'conn.log'), 'utf8').split('\n');
    expect(conn.find((l) => l.startsWith('#fields'))).toContain('\tcommunity_id');
    expect(conn.filter((l) => l && !l.startsWith('#'))).toHaveLength(8);
    const dns = readFileSync(join(dir, 'dns.log'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(dns[0].split('\t').slice(9)).toEqual(['example.com', 'A', 'NOERROR', '93.184.216.34', '300.000000']);
  });

  it('writes one process\'s packets as pcapng that tshark reads, each naming the process', async () => {
    const out = join(scratch(), 'curl.pcapng');
    const written = await exportPcapng(db, out, { process: '4242.20' });
    const frames = tsharkFields(out, ['frame.comment', 'ip.dst', 'tcp.dstport', 'frame.time_epoch']);
    expect(frames).toHaveLength(written);
    expect(written).toBe(8);
    expect(new Set(frames.map((f) => f[0]))).toEqual(new Set(['process 4242 /usr/bin/curl (4242.20)']));
    expect(frames[0].slice(1, 3)).toEqual(['93.184.216.34', '443']);
    expect(frames[0][3]).toBe('1714557602.500000000');
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('exports packets from a database made in another folder (sessions are remembered by absolute path)', () => {
    const dir = scratch();
    const dbFile = join(dir, 'case.duckdb');
    const made = spawnSync(process.execPath, [join(repoRoot, 'bin/netprov.js'), 'analyze', 'fixtures/macos-curl.npsession', '--db', dbFile], { cwd: repoRoot, encoding: 'utf8' });
    expect(made.status).toBe(0);
    const out = join(dir, 'curl.pcapng');
    const run = spawnSync(process.execPath, [join(repoRoot, 'bin/netprov.js'), 'export', '--db', dbFile, '--pcap', out, '--process', '4242.20'], { cwd: dir, encoding: 'utf8' });
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(tsharkFields(out, ['frame.comment'])).toHaveLength(8);
  });

  it('refuses an export with nothing to export, in one line', () => {
    const run = netprov(['export', fixtures[0]]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('netprov: export: name at least one of --parquet DIR, --zeek DIR, --pcap FILE\n');
  });
});
