/**
 * What every command loads before it runs: the command line's static imports (every command's
 * module, for yargs) must not reach DuckDB, which only a command that opens a database needs and
 * loads then (database.ts: ~60 ms of a command's start). A value import from a module that imports
 * DuckDB made `netprov import` 15% slower once (session 16); this catches the next one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';

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

  it('nor does the bundle netprov runs (bin/build-bundle.js): DuckDB is in a chunk only a command that opens a database imports', () => {
    const bundle = resolve(repoRoot, 'dist/bundle');
    const loaded = [...staticImports([resolve(bundle, 'bin/cli.js')])];
    expect(loaded.length).toBeGreaterThan(3);
    expect(loaded.filter((m) => !m.startsWith(bundle) && !m.startsWith('node:'))).toEqual([]);
    // The bundled DuckDB API is the code that requires its native bindings.
    const withDuckDb = readdirSync(bundle).filter((f) => f.endsWith('.js') && readFileSync(resolve(bundle, f), 'utf8').includes('@duckdb/node-bindings'));
    expect(withDuckDb).toHaveLength(1);
    expect(loaded.map((m) => basename(m))).not.toContain(withDuckDb[0]);
  });
});
