/**
 * The README's quick start stays true: its first command prints what the README shows it
 * printing (it had gone stale once the flow table gained its service and server_name columns).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { netprov } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

describe('the README', () => {
  it('shows what its first command prints', () => {
    const command = /```sh\nnpm install && npx netprov (analyze \S+)\n```/.exec(readme);
    expect(command).not.toBeNull();
    const shown = /The first prints each flow with the process that opened it:\n\n```\n([\s\S]*?)```/.exec(readme);
    expect(shown).not.toBeNull();
    const run = netprov(command![1].split(' '));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(shown![1]);
  });
});
