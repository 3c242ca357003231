/**
 * What every command loads before it runs: the command line's static imports (every command's
 * module, for yargs) must not reach DuckDB, which only a command that opens a database needs and
 * loads then (database.ts: ~60 ms of a command's start). A value import from a module that imports
 * DuckDB made `netprov import` 15% slower once (session 16); this catches the next one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript beside bin/netprov.js, no types.
import { wrap } from '../../bin/code-cache.js';
import { repoRoot, scratch } from '../helpers/paths.js';

/** Every module `entries` import statically, transitively: the project's as paths, packages by their specifier. */
function staticImports(entries: string[]): Set<string> {
  const seen = new Set<string>(entries);
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.shift()!;
    const source = readFileSync(file, 'utf8');
    // Compiled JavaScript: `import ... from '...'`, `export ... from '...'` and `import '...'`, not `import(...)`.
    for (const [, specifier] of source.matchAll(/^(?:import|export)\s(?:[^;]*?\sfrom\s)?\s*['"]([^'"]+)['"]/gm)) {
      const found = specifier.startsWith('.') ? resolve(dirname(file), specifier) : specifier;
      if (seen.has(found)) continue;
      seen.add(found);
      if (specifier.startsWith('.') && existsSync(found)) queue.push(found);
    }
  }
  return seen;
}

describe('start-up', () => {
  it("loads no DuckDB before a command opens a database: the command line's static imports never reach it", () => {
    // The entry, and every command's module, which it loads for yargs whatever the command.
    const entries = ['bin/cli.js', 'analyzer/cli/commands.js', 'analyzer/cli/query-commands.js', 'analyzer/cli/export-commands.js', 'recorder/cli/commands.js'];
    const loaded = [...staticImports(entries.map((e) => resolve(repoRoot, 'dist', e)))];
    expect(loaded.length).toBeGreaterThan(50);
    expect(loaded.filter((m) => m.endsWith('analyzer/load/loader.js'))).toHaveLength(1);
    expect(loaded.filter((m) => m.includes('@duckdb') || m.endsWith('analyzer/db/duckdb.js'))).toEqual([]);
  });

  it('nor does the bundle netprov runs (bin/build-bundle.js): its DuckDB module is evaluated only by a command that opens a database', () => {
    const watcher = join(scratch(), 'watch-requires.cjs');
    const loads = (args: string[]) => {
      const run = spawnSync(process.execPath, ['--require', watcher, join(repoRoot, 'bin/netprov.js'), ...args], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      return run.stderr.split('\n').filter((line) => line.startsWith('required '));
    };
    // Every package the bundle requires, as it requires it (Module._load is what its require calls).
    writeFileSync(watcher, "const M = require('node:module'); const load = M._load; M._load = function (request, ...rest) { if (!request.startsWith('node:') && !request.startsWith('.') && !request.startsWith('/')) process.stderr.write('required ' + request + '\\n'); return load.call(this, request, ...rest); };\n");
    const session = join(repoRoot, 'fixtures/http-get.npsession');
    expect(loads(['inspect', session])).not.toContain('required @duckdb/node-bindings');
    expect(loads(['flows', session])).toContain('required @duckdb/node-bindings');
  });
});

describe('code cache (bin/code-cache.js)', () => {
  const bundle = join(repoRoot, 'dist/bundle');
  const entries = ['bin/cli', 'analyzer/load/decode-worker', 'analyzer/load/track-worker', 'recorder/session/frame-thread-worker'];

  it.each(entries)("%s: the build's training left a cache V8 takes, readable by every user", (entry) => {
    const file = join(bundle, `${entry}.cjs`);
    const cachedData = readFileSync(`${file}.v8cache`);
    expect(statSync(`${file}.v8cache`).mode & 0o444).toBe(0o444);
    const script = new vm.Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
    expect(script.cachedDataRejected).toBe(false);
  });

  it('runs a file whose cache V8 refuses (damaged, or of another build) as if it had none', () => {
    const dir = scratch();
    const file = join(dir, 'say.cjs');
    writeFileSync(file, "process.stdout.write(require('node:path').basename(__filename) + ' ran');\n");
    writeFileSync(`${file}.v8cache`, Buffer.alloc(4096, 7));
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', `import { runCached } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'bin/code-cache.js')).href)}; runCached(${JSON.stringify(pathToFileURL(file).href)});`], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('say.cjs ran');
  });
});
