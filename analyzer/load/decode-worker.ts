/**
 * Worker thread entry: decodes one session (decode.ts) and posts its batches to the loader,
 * transferring the column buffers. At most MAX_IN_FLIGHT batches wait unprocessed: past that
 * the worker blocks until the loader catches up, so memory does not grow with session size.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { decodeSession, type DecodeMessage } from './decode.js';
import { transferList, type ReusableColumns } from './packet-batch.js';

export const MAX_IN_FLIGHT = 4;

const { path, salvage, inFlight, recycled } = workerData as { path: string; salvage: boolean; inFlight: SharedArrayBuffer; recycled: MessagePort };
const pending = new Int32Array(inFlight);

// Column buffers come back from the loader once it has copied them into DuckDB, and are
// reused: allocating ~2.5 MB per batch and leaving it to the garbage collector cost more.
const reuse = () => receiveMessageOnPort(recycled)?.message as ReusableColumns | undefined;

decodeSession(path, salvage, reuse, (message: DecodeMessage) => {
  if (message.type === 'batch') {
    while (Atomics.load(pending, 0) >= MAX_IN_FLIGHT) Atomics.wait(pending, 0, Atomics.load(pending, 0), 1000);
    Atomics.add(pending, 0, 1);
    parentPort!.postMessage(message, transferList(message.batch));
  } else {
    parentPort!.postMessage(message);
  }
});
