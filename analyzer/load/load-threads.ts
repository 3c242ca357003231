/**
 * The threads of a load: a worker reads, checks, decodes and dissects (decode.ts), a second
 * tracks connections in packet order (track.ts), and this file yields the tracker's messages in
 * order. Nothing here loads DuckDB: a command starts its load before its database opens, and
 * `netprov analyze FILE...` before its command line is even parsed (early-load.ts).
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { InputError } from '../../recorder/errors.js';
import { compiledFile } from '../../recorder/project.js';
import { privateFolder } from '../db/private-folder.js';
import { decoderThread } from './decode-thread.js';
import type { DecodeStart } from './decode-worker.js';
import type { LoadInput } from './inputs.js';
import type { LoadOptions } from './loader.js';
import { transferList } from './packet-batch.js';
import type { LoadMessage } from './track-worker.js';

/** A load whose worker threads are already reading, before the database is even open. */
export interface StartedLoad {
  input: LoadInput;
  messages: AsyncGenerator<LoadMessage>;
  /** Ends the worker threads (also when the load never began: the database failed to open). */
  stop: () => Promise<void>;
  /** The private folder of the Parquet parts the tracking worker writes flows and DNS rows into. */
  staged: { path: string; remove: () => void };
  started: number;
  /**
   * For a load begun early, which neither keeps the process alive nor tracks until a command
   * takes it: now it does both.
   */
  take: () => void;
}

/**
 * Starts reading `input` on worker threads now: start-up overlaps whatever the caller does next.
 * The load begun early for this very input and these options, if there is one, is taken instead.
 */
export function startLoad(input: LoadInput | string, options: LoadOptions = {}): StartedLoad {
  const resolved: LoadInput = typeof input === 'string' ? { kind: 'session', path: input } : input;
  const wanted = { salvage: options.salvage ?? false, verifyChecksums: options.verifyChecksums ?? false };
  const taken = takeEarlyLoad(loadKey(resolved, wanted));
  if (taken) return taken;
  const started = performance.now();
  const staged = privateFolder('netprov-');
  return { input: resolved, ...decodeInWorkers(resolved, wanted, staged.path), staged, started };
}

/** What makes two loads the same: their input and the options the threads read it with. */
const loadKey = (input: LoadInput, { salvage, verifyChecksums }: { salvage: boolean; verifyChecksums: boolean }) => JSON.stringify([input, salvage, verifyChecksums]);

/** A load begun before its command had parsed its arguments, until a command takes or replaces it. */
let early: { key: string; load: StartedLoad } | null = null;

/**
 * Begins loading `input` before any command has asked for it (early-load.ts guessed it from the
 * command line). Its decoding thread reads on without keeping the process alive. If the command
 * asks for another load, this one is stopped and its folder removed; if the command fails before
 * asking, the threads end with the process and the folder goes at exit (private-folder.ts).
 */
export function startLoadEarly(input: LoadInput): void {
  if (early) return;
  const options = { salvage: false, verifyChecksums: false };
  const staged = privateFolder('netprov-');
  const load: StartedLoad = { input, ...decodeInWorkers(input, options, staged.path, true), staged, started: performance.now() };
  early = { key: loadKey(input, options), load };
}

function takeEarlyLoad(key: string): StartedLoad | null {
  const begun = early;
  early = null;
  if (!begun) return null;
  if (begun.key === key) {
    begun.load.take();
    return begun.load;
  }
  void begun.load.stop().finally(() => begun.load.staged.remove());
  return null;
}

/**
 * Runs decode.ts and track.ts on two worker threads, the decoder feeding the tracker; yields the
 * tracker's messages in order. Column buffers come back here and go straight to the decoder.
 */
function decodeInWorkers(
  input: LoadInput, options: { salvage: boolean; verifyChecksums: boolean }, stagingDir: string, early = false,
): Pick<StartedLoad, 'messages' | 'stop' | 'take'> {
  const inFlight = new SharedArrayBuffer(4);
  const pending = new Int32Array(inFlight);
  const recycle = new MessageChannel();
  const pipe = new MessageChannel();
  const queue: LoadMessage[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  let exited: number | null = null;
  const fail = (err: Error) => {
    failure = err;
    wake?.();
  };
  const decoder = decoderThread().on('error', fail);
  const start: DecodeStart = { input, ...options, inFlight, recycled: recycle.port2, out: pipe.port1 };
  decoder.postMessage(start, [recycle.port2, pipe.port1]);
  let tracker: Worker | null = null;
  const track = () => {
    // Heap limits keep the garbage collector close behind: without them V8 let each worker's heap
    // reach ~500 MB of garbage at 20M packets, RSS growing with the input. What they keep alive is
    // small (batches in flight, fragments, open connections: ~1 KB each, so ~300,000 open at once
    // fit the tracker's limit). The tracker's young generation is larger than V8 would make it for
    // that heap: most of a connection's short-lived objects then die before a scavenge would copy
    // them (its collection time at 2M packets: 0.87 s with the default, 0.75 s with 64 MB).
    tracker = new Worker(compiledFile('analyzer/load/track-worker.js'), {
      workerData: { decoded: pipe.port2, stagingDir },
      transferList: [pipe.port2],
      resourceLimits: { maxOldGenerationSizeMb: 384, maxYoungGenerationSizeMb: 64 },
    });
    tracker.on('error', fail).on('message', (m: LoadMessage) => {
      queue.push(m);
      wake?.();
    });
    tracker.on('exit', (code) => {
      exited = code;
      wake?.();
    });
  };
  // A load begun early reads on its own: its tracker would only compete for the second core with
  // the command line still loading (measured: the first read came 0.04 s later); the decoder's
  // batches wait in the pipe meanwhile.
  if (early) decoder.unref();
  else track();
  const stop = async () => {
    recycle.port1.close();
    await Promise.all([decoder.terminate(), tracker?.terminate()]);
  };

  async function* follow(): AsyncGenerator<LoadMessage> {
    for (;;) {
      while (queue.length === 0 && !failure && exited === null) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      if (failure) throw failure;
      const message = queue.shift();
      // The tracking thread gone before its last word: say so, rather than load half a session.
      if (!message) throw new Error(`the loading threads stopped before the end of the input (exit code ${exited})`);
      if (message.type === 'error') throw message.input ? new InputError(message.message) : Object.assign(new Error(message.message), { stack: message.stack });
      yield message;
      if (message.type === 'batch') {
        const { rows, track } = message.batch;
        recycle.port1.postMessage({ rows, track }, transferList({ rows, track }));
        Atomics.sub(pending, 0, 1);
        Atomics.notify(pending, 0);
      }
      if (message.type === 'end') return;
    }
  }
  const take = () => {
    decoder.ref();
    if (!tracker) track();
  };
  return { messages: follow(), stop, take };
}

