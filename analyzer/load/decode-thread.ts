/**
 * The decoding worker thread (decode-worker.ts), startable before a command knows what it will
 * load: booting a thread and loading its modules takes ~0.13 s of a core, which then runs beside
 * the command line's own loading (yargs, the commands, DuckDB) instead of before the first packet.
 * An early thread waits unreferenced — the process may end without using it — until a load takes it.
 */
import { Worker } from 'node:worker_threads';
import { compiledFile } from '../../recorder/project.js';

let early: { worker: Worker; gone: boolean } | null = null;

// A small old generation keeps the collector close behind (loader.ts says why).
const spawn = () => new Worker(compiledFile('analyzer/load/decode-worker.js'), { resourceLimits: { maxOldGenerationSizeMb: 128 } });

/** Starts the decoding thread now, for a load that may come. */
export function startDecoderEarly(): void {
  if (early) return;
  const entry = { worker: spawn(), gone: false };
  // Until a load takes it, a thread that fails is only forgotten: the load then starts its own.
  entry.worker.on('error', () => (entry.gone = true)).on('exit', () => (entry.gone = true));
  entry.worker.unref();
  early = entry;
}

/** A decoding thread for one load: the early one if it is still there, else a new one. */
export function decoderThread(): Worker {
  const taken = early;
  early = null;
  if (taken && !taken.gone) {
    taken.worker.removeAllListeners();
    taken.worker.ref();
    return taken.worker;
  }
  return spawn();
}
