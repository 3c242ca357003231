/**
 * Worker thread between the decoder and the loader: tracks connections (track.ts) in packet
 * order and passes every message on, each batch with its flow columns filled and its column
 * buffers transferred, never copied. Flows and DNS rows go to Parquet parts, each announced to
 * the loader once complete.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { DecodeMessage } from './decode.js';
import { newDnsInBatch, transferList } from './packet-batch.js';
import { nativeTracker } from '../native/conn-tracker.js';
import { PacketTracker, type BatchTracker } from './track.js';
import { NativePacketTracker } from './track-native.js';

/** What the loader receives: the decoder's messages, the end with the tracker's totals. */
export type LoadMessage =
  | Exclude<DecodeMessage, { type: 'end' }>
  /** A Parquet part of rows for `table` is complete (parquet-rows.ts). */
  | { type: 'staged'; table: string; path: string }
  | (Extract<DecodeMessage, { type: 'end' }> & { flows: number; evicted: number; trackSeconds: number });

const { decoded, stagingDir } = workerData as { decoded: MessagePort; stagingDir: string };
let tracker: BatchTracker | null = null;
let seconds = 0;

const post = (message: LoadMessage) => parentPort!.postMessage(message, message.type === 'batch' ? transferList(message.batch) : []);

decoded.on('message', (message: DecodeMessage) => {
  try {
    if (message.type === 'header') {
      const Tracker = nativeTracker ? NativePacketTracker : PacketTracker;
      tracker = new Tracker(message.header.sessionId, stagingDir, (table, path) => post({ type: 'staged', table, path }));
    }
    if (message.type === 'batch') {
      const start = performance.now();
      tracker!.batch(message.batch);
      seconds += (performance.now() - start) / 1000;
      // What only tracking reads is not copied on to the loader (a DNS message per fifth packet).
      Object.assign(message.batch, { dns: newDnsInBatch(), content: [], datagrams: [], tunnels: [] });
    }
    if (message.type === 'end') {
      post({ ...message, flows: tracker?.finish() ?? 0, evicted: tracker?.evicted ?? 0, trackSeconds: seconds });
      decoded.close();
      return;
    }
    post(message);
  } catch (err) {
    post({ type: 'error', input: false, message: (err as Error).message, stack: (err as Error).stack });
    decoded.close();
  }
});
