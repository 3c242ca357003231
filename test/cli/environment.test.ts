/**
 * The machine failing under netprov — a full disk, DuckDB out of memory — is the user's to fix:
 * exit 1 with one line naming what failed, never exit 2, and nothing half-written left behind.
 * Root: each disk test mounts a one-page tmpfs of its own.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';
import { writeTrafficPcap } from '../bench/traffic.js';

const root = process.getuid?.() === 0;
let disk: string;

describe.skipIf(!root)('a full disk', () => {
  beforeAll(() => {
    disk = scratch();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', disk]);
  });
  afterAll(() => execFileSync('umount', [disk]));

  it.each([
    ['import', (out: string) => ['import', join(repoRoot, 'test/oracle/zeek/ftp-ipv4.pcap'), '-o', join(out, 'case.npsession')]],
    ['analyze --db', (out: string) => ['analyze', join(repoRoot, 'fixtures/linux-burst.npsession'), '--db', join(out, 'case.duckdb')]],
    ['export --parquet', (out: string) => ['export', join(repoRoot, 'fixtures/linux-burst.npsession'), '--parquet', join(out, 'lake')]],
    ['export --zeek', (out: string) => ['export', join(repoRoot, 'fixtures/linux-burst.npsession'), '--zeek', join(out, 'zeek')]],
    ['report', (out: string) => ['report', join(repoRoot, 'fixtures/linux-burst.npsession'), '-o', join(out, 'report.html')]],
  ])('%s: exit 1, one line, nothing left', (_command, args) => {
    const run = netprov(args(disk));
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr.trim().split('\n').filter((l) => !l.startsWith('netprov: warning'))).toHaveLength(1);
    expect(run.stderr).toMatch(/ENOSPC|No space left on device/);
    expect(readdirSync(disk)).toEqual([]);
  });
});

describe.skipIf(!root)('a disk that fills part-way', () => {
  let capture: string;
  let disk: string;
  beforeAll(() => {
    capture = join(scratch(), 'traffic.pcap');
    writeTrafficPcap(capture, { packets: 20_000, concurrentFlows: 2000 });
    disk = scratch();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', disk]);
  });
  afterAll(() => execFileSync('umount', [disk]));

  const busiestFlow = () => netprov(['sql', 'SELECT uid FROM flows ORDER BY orig_pkts + resp_pkts DESC, uid LIMIT 1', capture, '-f', 'csv']).stdout.split('\n')[1];
  let imported: string | null = null;
  const session = () => {
    if (!imported) expect(netprov(['import', capture, '-o', (imported = join(scratch(), 'traffic.npsession'))]).status).toBe(0);
    return imported;
  };

  /** Each output's files and their bytes (DuckDB's Parquet files by name only: their row order follows its threads). */
  const contents = (path: string): Record<string, string> => {
    if (!statSync(path).isDirectory()) return { '.': createHash('sha1').update(readFileSync(path)).digest('hex') };
    return Object.fromEntries(
      readdirSync(path, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name))
        .map((f) => [relative(path, f), f.endsWith('.parquet') ? 'parquet' : createHash('sha1').update(readFileSync(f)).digest('hex')]),
    );
  };
  const bytesOf = (path: string): number =>
    statSync(path).isDirectory() ? readdirSync(path, { recursive: true }).reduce((n: number, f) => n + statSync(join(path, String(f))).size, 0) : statSync(path).size;

  // Whatever the point where the disk fills, an output is whole or not there: the sizes run from a
  // tenth of what the output needs to three times it, in steps that fall inside its writing.
  it.each([
    ['import', (out: string) => ['import', capture, '-o', out]],
    ['analyze --save', (out: string) => ['analyze', capture, '--save', out]],
    ['analyze --json', (out: string) => ['analyze', capture, '--json', out]],
    ['export --parquet', (out: string) => ['export', capture, '--parquet', out]],
    ['export --zeek', (out: string) => ['export', capture, '--zeek', out]],
    ['report', (out: string) => ['report', capture, '-o', out]],
    ['export --ocsf', (out: string) => ['export', capture, '--ocsf', out]],
    ['export --pcap', (out: string) => ['export', capture, '--pcap', out, '--flow', busiestFlow()]],
    ['sql -o', (out: string) => ['sql', 'SELECT * FROM packets ORDER BY packet_no', capture, '-f', 'csv', '-o', out]],
    ['replay --to', (out: string) => ['replay', session(), '--to', out, '--speed', 'max']],
  ])('%s: exit 0 and the whole output, or exit 1 naming it and nothing left', (_command, args) => {
    const reference = join(scratch(), 'output');
    expect(netprov(args(reference)).status).toBe(0);
    const expected = contents(reference);
    const needed = bytesOf(reference);
    const outcomes = new Set<number>();
    for (const share of [0.1, 0.5, 0.8, 0.9, 0.95, 1, 1.05, 1.2, 3]) {
      for (const entry of readdirSync(disk)) rmSync(join(disk, entry), { recursive: true });
      execFileSync('mount', ['-o', `remount,size=${Math.max(4, Math.ceil((needed * share) / 4096) * 4)}k`, disk]);
      const out = join(disk, 'output');
      const run = netprov(args(out));
      outcomes.add(run.status!);
      if (run.status === 0) expect(contents(out), `${share}`).toEqual(expected);
      else {
        expect(run.status, `${share}: ${run.stderr}`).toBe(1);
        expect(run.stderr.trim().split('\n').filter((l) => !l.startsWith('netprov: warning')), `${share}`).toHaveLength(1);
        expect(run.stderr, `${share}`).toMatch(/ENOSPC|No space left on device/);
        expect(run.stderr, `${share}: names the output`).toContain(out);
        expect(readdirSync(disk), `${share}`).toEqual([]);
      }
    }
    expect([...outcomes].sort()).toEqual([0, 1]);
  }, 60_000);
});

describe('DuckDB out of memory', () => {
  it('is exit 1 with the limit and what to change, not an internal error', () => {
    const dir = scratch();
    const capture = join(dir, 'many-flows.pcap');
    writeTrafficPcap(capture, { packets: 100_000, concurrentFlows: 20_000 });
    const run = netprov(['analyze', capture, '--json', join(dir, 'analysis.json')], { NETPROV_MEMORY_MIB: '64' });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^netprov: Out of Memory Error: .*64\.0 MiB.* \(raise NETPROV_MEMORY_MIB, give --db FILE, or free space in the temporary folder DuckDB spills to\)$/m);
    expect(readdirSync(dir)).toEqual(['many-flows.pcap']); // no analysis.json, nothing half-written
  });
});
