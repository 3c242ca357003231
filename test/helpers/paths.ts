import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
/**
 * Inputs and expected outputs written by other projects (Zeek's test traces and conn.logs, the
 * Community ID specification's pcaps and baselines), vendored with their licences: test/oracle/README.md.
 * They are inputs from outside, never tuned by hand.
 */
export const oracleDir = resolve(repoRoot, 'test/oracle');

export const oraclePcaps = (): string[] =>
  [join(oracleDir, 'zeek'), join(oracleDir, 'community-id/pcaps')].flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f))
      .sort()
      .map((f) => join(dir, f)),
  );

/**
 * A new folder for one test's files, inside the run's folder (global-setup.ts), which is removed
 * when the run ends: runs left ~15,000 folders, 38 GB of them, in /tmp before.
 */
export const scratch = (): string => mkdtempSync(join(process.env.NETPROV_TEST_SCRATCH ?? tmpdir(), 'netprov-test-'));

/** Every trace of Zeek's corpus (test/oracle/zeek-corpus), once each. */
export const corpusTraces = (): string[] =>
  readdirSync(join(oracleDir, 'zeek-corpus'))
    .filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f))
    .sort()
    .map((f) => join(oracleDir, 'zeek-corpus', f));
