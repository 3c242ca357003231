// `npm run build`, after tsc: the command line and each of its worker threads as one CommonJS
// file in dist/bundle/, run with V8's code cache for it (bin/code-cache.js). Why a bundle: Node 20
// resolves, reads and compiles every module on its own (and each worker thread again):
// `netprov analyze` opened 342 JavaScript files. Why CommonJS: V8's code cache is open to
// scripts only (vm.Script), and one file of lazily evaluated modules (esbuild wraps each module a
// dynamic import reaches — DuckDB's side of a command, a gzip inflater — in a function called on
// first import) costs start-up less than the ES chunks it replaces: `analyze` of an empty
// capture 0.27 s as ES chunks, 0.24 s as one CommonJS file, 0.21 s with its code cache (this
// project's 2-core VM, alternating runs).
// tsc's modules stay in dist/, one per source file, for the tests and the fuzzer to import.
// DuckDB's bindings and msgpackr stay outside the bundle: each loads native code from its own
// folder.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const out = join(dist, 'bundle');
// The command line, and each file a Worker is started on (project.ts compiledFile).
const entries = ['bin/cli.js', 'analyzer/load/decode-worker.js', 'analyzer/load/track-worker.js', 'recorder/session/frame-thread-worker.js'];

rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: entries.map((f) => join(dist, f)),
  outbase: dist,
  outdir: out,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['@duckdb/node-bindings', 'msgpackr'],
  // The modules find the project's files from their own place (project.ts): the bundle's file.
  define: { 'import.meta.url': 'netprovBundleUrl', 'import.meta.dirname': '__dirname' },
  banner: { js: "const netprovBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});

// Each entry's own path (ENTRY.js, which bin/netprov.js imports and Workers start on) runs its
// .cjs through the code cache.
for (const entry of entries) {
  const stub = join(out, entry);
  const loader = relative(dirname(stub), join(root, 'bin/code-cache.js'));
  writeFileSync(stub, `import { runCached } from '${loader}';\nrunCached(new URL('./${basename(entry, '.js')}.cjs', import.meta.url));\n`);
}

// The caches: what a training run of the main job compiles. `import` first (its file-writing
// thread), then `analyze` of captures (the command line, the decoding and tracking threads):
// each run leaves the caches of the files it ran, the last one's standing.
const captures = ['http-get', 'ftp-ipv4', 'dhcp'].map((name) => join(root, 'test/oracle/zeek', `${name}.pcap`));
let scratch = null;
try {
  scratch = mkdtempSync(join(tmpdir(), 'netprov-build-'));
  const train = (...args) => execFileSync(process.execPath, [join(root, 'bin/netprov.js'), ...args], {
    cwd: scratch,
    env: { ...process.env, NETPROV_WRITE_CODE_CACHE: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  train('import', ...captures, '-o', join(scratch, 'training.npsession'));
  train('analyze', ...captures, '--db', join(scratch, 'training.duckdb'));
} catch (err) {
  // Without caches netprov runs as fast as it did before them, less start-up: never a failed build.
  process.stderr.write(`build-bundle: no code cache (the training run failed: ${String(err.stderr ?? err.message).split('\n')[0]})\n`);
  removeCaches();
} finally {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  for (const file of walk(out)) if (file.endsWith('.tmp')) rmSync(file);
}

function removeCaches() {
  for (const file of walk(out)) if (file.endsWith('.v8cache')) rmSync(file);
}

function walk(folder) {
  return readdirSync(folder, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
