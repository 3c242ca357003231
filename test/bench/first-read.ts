/**
 * Loaded into a netprov command by the benchmark (`node --import`): at exit, prints when the
 * input's first bytes were read, in seconds since the process started — the load's
 * `netprov:first-bytes-read` mark (loader.ts) — so that start-up is measured through the CLI,
 * yargs included, as a user runs it. Worker threads load it too (they inherit `--import`); only
 * the main thread has the mark.
 */
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  process.on('exit', () => {
    const [mark] = performance.getEntriesByName('netprov:first-bytes-read');
    process.stderr.write(`netprov-first-read ${mark ? (mark.startTime / 1000).toFixed(3) : 'none'}\n`);
  });
}
