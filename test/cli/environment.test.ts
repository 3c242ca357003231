/**
 * The machine failing under netprov — a full disk — is the user's to fix: exit 1 with one line
 * naming what failed, never exit 2, and nothing half-written left behind. Root: each test mounts
 * a one-page tmpfs of its own.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';

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
