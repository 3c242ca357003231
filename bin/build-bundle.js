// `npm run build`, after tsc: the command line and its worker threads as a few ES modules in
// dist/bundle/, which bin/netprov.js runs. Why: Node 20 resolves, reads and compiles every ES
// module on its own (and each worker thread again): `netprov analyze` opened 342 JavaScript
// files, 71 bundled. Measured on this project's 2-core VM (7-9 alternating runs, medians):
// `inspect` 0.20 -> 0.18 s, `query --db` 0.36 -> 0.32 s, `analyze` of an empty capture 0.40 ->
// 0.33 s, of 400,000 packets with --db 1.01 -> 0.96 s (CPU 1.63 -> 1.50 s).
// tsc's modules stay in dist/, one per source file, for the tests and the fuzzer to import.
// DuckDB's bindings and msgpackr stay outside the bundle: each loads native code from its own
// folder, required from the bundled DuckDB API through the banner's `require`.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const dist = join(import.meta.dirname, '..', 'dist');
const out = join(dist, 'bundle');
// Chunk names carry a hash of their content: an earlier build's would stay beside the new ones.
rmSync(out, { recursive: true, force: true });
await build({
  // The command line, and each file a Worker is started on (project.ts compiledFile).
  entryPoints: ['bin/cli.js', 'analyzer/load/decode-worker.js', 'analyzer/load/track-worker.js', 'recorder/session/frame-thread-worker.js'].map((f) => join(dist, f)),
  outbase: dist,
  outdir: out,
  bundle: true,
  // Modules loaded only on demand (DuckDB's side of a command, a gzip inflater) stay out of start-up.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@duckdb/node-bindings', 'msgpackr'],
  banner: { js: "import { createRequire as netprovRequire } from 'node:module'; const require = netprovRequire(import.meta.url);" },
  logLevel: 'warning',
});
