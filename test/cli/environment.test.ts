/**
 * The machine failing under netprov — a full disk, DuckDB out of memory — is the user's to fix:
 * exit 1 with one line naming what failed, never exit 2, and nothing half-written left behind.
 * Root: each disk test mounts a one-page tmpfs of its own.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
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
