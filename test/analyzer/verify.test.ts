import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';

describe('netprov verify', () => {
  it('finds every bundled fixture analysed exactly as expected', () => {
    const run = netprov(['verify', join(repoRoot, 'fixtures')]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.match(/^same /gm)).toHaveLength(13);
  }, 60_000);

  it('shows the first difference and fails when an expectation no longer holds', () => {
    const dir = scratch();
    copyFileSync(join(repoRoot, 'fixtures/ftp-ipv4.npsession'), join(dir, 'ftp.npsession'));
    const expected = readFileSync(join(repoRoot, 'fixtures/ftp-ipv4.expected.json'), 'utf8');
    writeFileSync(join(dir, 'ftp.expected.json'), expected.replace('"conn_state": "SF"', '"conn_state": "S1"'));
    const run = netprov(['verify', dir]);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/different .*ftp\.npsession/);
    expect(run.stdout).toMatch(/- +"conn_state": "S1"/);
    expect(run.stdout).toMatch(/\+ +"conn_state": "SF"/);
    expect(run.stderr).toBe('netprov: verify: 1 of 1 sessions differ from their expected analysis\n');
  });
});
