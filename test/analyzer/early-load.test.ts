/**
 * The load begun from the command line before it is parsed (early-load.ts, load-threads.ts): a
 * head start the command takes only when it is exactly what it asked for, and that leaves nothing
 * behind when it is not taken.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { beginLoadEarly } from '../../analyzer/load/early-load.js';
import { startLoad, startLoadEarly } from '../../analyzer/load/load-threads.js';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';

const capture = join(repoRoot, 'test/oracle/zeek/ftp-ipv4.pcap');
const session = join(repoRoot, 'fixtures/http-get.npsession');

async function gone(path: string): Promise<boolean> {
  for (let i = 0; i < 200 && existsSync(path); i++) await new Promise((r) => setTimeout(r, 10));
  return !existsSync(path);
}

describe('a load begun early', () => {
  it('is taken by the load that asks for the same input with the same options', async () => {
    startLoadEarly({ kind: 'captures', files: [capture] });
    const asked = performance.now();
    const load = startLoad({ kind: 'captures', files: [capture] });
    const again = startLoad({ kind: 'captures', files: [capture] });
    expect(load.started).toBeLessThan(asked); // the load begun early
    expect(again.started).toBeGreaterThan(asked); // taken once
    const first = await load.messages.next();
    expect(first.value).toMatchObject({ type: 'header' });
    for (const l of [load, again]) {
      await l.stop();
      l.staged.remove();
    }
  });

  it('is stopped, and its folder removed, when the command wants another input or other options', async () => {
    const before = new Set(readdirSync(tmpdir()));
    for (const wanted of [
      () => startLoad({ kind: 'session', path: session }),
      () => startLoad({ kind: 'captures', files: [capture] }, { verifyChecksums: true }),
      () => startLoad({ kind: 'captures', files: [capture] }, { salvage: true }),
    ]) {
      startLoadEarly({ kind: 'captures', files: [capture] });
      const asked = performance.now();
      const load = wanted();
      expect(load.started).toBeGreaterThan(asked);
      const header = (await load.messages.next()).value;
      expect(header).toMatchObject({ type: 'header' });
      await load.stop();
      load.staged.remove();
    }
    // Every folder a discarded load made is removed once its threads have stopped.
    const left = readdirSync(tmpdir()).filter((name) => name.startsWith('netprov-') && !before.has(name));
    for (const name of left) expect(await gone(join(tmpdir(), name)), name).toBe(true);
  });

  it.each([
    [['analyze', capture], { kind: 'captures', files: [capture] }],
    [['analyze', capture, session, '--db', 'x.duckdb'], { kind: 'captures', files: [capture] }],
    [['analyze', session, capture], { kind: 'session', path: session }],
    [['query', 'top-talkers', capture], { kind: 'captures', files: [capture] }],
    [['sql', 'SELECT 1', session], { kind: 'session', path: session }],
  ])('is guessed from %j', async (args, input) => {
    expect(await beginLoadEarly(args as string[])).toEqual(input);
    const load = startLoad(input as Parameters<typeof startLoad>[0]);
    await load.stop();
    load.staged.remove();
  });

  it.each([
    [['analyze', capture, '--salvage']],
    [['analyze', capture, '--verify-checksums=true']],
    [['analyze', capture, '--save', 'case.npsession']],
    [['analyze', '--db', 'x.duckdb', capture]],
    [['analyze', capture, '--help']],
    [['analyze', join(repoRoot, 'README.md')]],
    [['analyze', join(repoRoot, 'no-such-file.pcap')]],
    [['query', capture]],
    [['import', capture]],
  ])('is not guessed from %j', async (args) => {
    expect(await beginLoadEarly(args)).toBeNull();
  });

  it('leaves no folder behind a command that never takes it, nor one that does', () => {
    const temp = mkdtempSync(join(scratch(), 'tmp-'));
    const refused = netprov(['flows', capture, '--db', join(temp, 'x.duckdb')], { TMPDIR: temp });
    expect(refused.status, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/one of them/);
    expect(readdirSync(temp)).toEqual([]);
    const analysed = netprov(['analyze', capture], { TMPDIR: temp });
    expect(analysed.status, analysed.stderr).toBe(0);
    expect(analysed.stdout).toMatch(/ftp-ipv4\.pcap: \d+ packets, \d+ flows/);
    expect(readdirSync(temp)).toEqual([]);
  });
});
