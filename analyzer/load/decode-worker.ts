/**
 * Worker thread entry: decodes one session (decode.ts) and posts its batches to the tracking
 * worker (`out`), transferring the column buffers. At most MAX_IN_FLIGHT batches are between
 * here and the loader's last copy: past that the worker blocks until the loader catches up, so
 * memory does not grow with session size.
 */
import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { decodeSession, type DecodeMessage } from './decode.js';
import type { LoadInput } from './inputs.js';
import { transferList, type ReusableColumns } from './packet-batch.js';

// Three stages on two cores need room to overlap: 4 measured 3.8–4.0 s for the 5M-packet
// benchmark, 8 measured 3.5–3.6 s (~20 MB of batches).
export const MAX_IN_FLIGHT = 8;

/** What a load posts to start the thread, which may have been waiting for it (decode-thread.ts). */
export interface DecodeStart {
  input: LoadInput;
  salvage: boolean;
  verifyChecksums: boolean;
  /** How many batches are between here and the loader's last copy. */
  inFlight: SharedArrayBuffer;
  /** Column buffers the loader is done with. */
  recycled: MessagePort;
  /** To the tracking thread. */
  out: MessagePort;
}

parentPort!.once('message', async ({ input, salvage, verifyChecksums, inFlight, recycled, out }: DecodeStart) => {
  const pending = new Int32Array(inFlight);
  // Column buffers come back from the loader once it has copied them into DuckDB, and are
  // reused: allocating ~2.5 MB per batch and leaving it to the garbage collector cost more.
  const reuse = () => receiveMessageOnPort(recycled)?.message as ReusableColumns | undefined;
  await decodeSession(input, { salvage, verifyChecksums }, reuse, (message: DecodeMessage) => {
    if (message.type === 'batch') {
      while (Atomics.load(pending, 0) >= MAX_IN_FLIGHT) Atomics.wait(pending, 0, Atomics.load(pending, 0), 1000);
      Atomics.add(pending, 0, 1);
      out.postMessage(message, transferList(message.batch));
    } else {
      out.postMessage(message);
    }
  });
});
