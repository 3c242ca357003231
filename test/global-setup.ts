/**
 * Once per run: build the `netprov` the CLI tests run, and make the folder every test's scratch
 * folder goes in (helpers/paths.ts), removed with everything in it when the run ends.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export default function setup(): () => void {
  const root = resolve(import.meta.dirname, '..');
  execFileSync(process.execPath, [resolve(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [resolve(root, 'bin/build-bundle.js')], { cwd: root, stdio: 'inherit' });
  const run = mkdtempSync(join(tmpdir(), 'netprov-tests-'));
  // Passable (not listable) by others: a test that runs netprov as nobody opens its own folder to it.
  chmodSync(run, 0o711);
  // The test workers start after this and inherit the environment.
  process.env.NETPROV_TEST_SCRATCH = run;
  return () => rmSync(run, { recursive: true, force: true });
}
