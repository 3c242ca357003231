import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
/** The shared oracle beside the checkout (DESIGN.md: inputs from outside, never tuned by hand). */
export const oracleDir = resolve(repoRoot, '../shared/oracle');

export const oraclePcaps = (): string[] =>
  [join(oracleDir, 'zeek'), join(oracleDir, 'community-id/pcaps')].flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f))
      .sort()
      .map((f) => join(dir, f)),
  );

export const scratch = (): string => mkdtempSync(join(tmpdir(), 'netprov-test-'));
