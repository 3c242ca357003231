import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { privateFolder } from '../../analyzer/db/private-folder.js';
import { repoRoot } from '../helpers/paths.js';

describe('a private folder', () => {
  it('is 0700 and goes with what it holds', () => {
    const folder = privateFolder('netprov-test-private-');
    expect(statSync(folder.path).mode & 0o777).toBe(0o700);
    writeFileSync(join(folder.path, 'part.csv'), 'x\n');
    folder.remove();
    expect(existsSync(folder.path)).toBe(false);
  });

  it('is removed when the process exits without removing it', () => {
    const script = `import(${JSON.stringify(join(repoRoot, 'dist/analyzer/db/private-folder.js'))}).then((m) => { const f = m.privateFolder('netprov-test-private-'); console.log(f.path); })`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const path = run.stdout.trim();
    expect(run.status, run.stderr).toBe(0);
    expect(path).toContain('netprov-test-private-');
    expect(existsSync(path)).toBe(false);
  });
});
