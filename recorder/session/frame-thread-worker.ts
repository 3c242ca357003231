/**
 * The thread behind FrameThread (frame-thread.ts, which says how the two meet): frames each
 * payload it is handed and writes it to the session file, in order, hands the payload back,
 * and counts it written, until told to stop.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import { writeAll } from '../write-all.js';
import { encodeFrameHeader } from './frame.js';
import { FAILED, STARTED, STOPPED, WRITTEN, type FrameMessage, type FrameThreadData, type Returned } from './frame-thread.js';

// The thread may start before its file exists (startFrameThreadEarly): the file comes in the first message.
parentPort!.once('message', ({ fd, control, port }: FrameThreadData) => serve(fd, new Int32Array(control), port));

function serve(fd: number, control: Int32Array, port: MessagePort): void {
  let written = 0;
  let failed = false;
  Atomics.store(control, STARTED, 1);

  const count = (value: number) => {
    Atomics.store(control, WRITTEN, value);
    Atomics.notify(control, WRITTEN);
  };

  port.on('message', (message: FrameMessage | 'stop') => {
    if (message === 'stop') {
      port.close();
      count(STOPPED);
      return;
    }
    if (failed) return;
    const { payload, type, sequence, eventCount, length } = message;
    // Whatever fails here is reported: a thread that died silently would leave the writer waiting.
    try {
      const bytes = Buffer.from(payload, 0, length);
      writeAll(fd, encodeFrameHeader(type, sequence, eventCount, bytes));
      writeAll(fd, bytes);
      port.postMessage({ payload } satisfies Returned, [payload]);
    } catch (err) {
      failed = true;
      port.postMessage({ error: (err as NodeJS.ErrnoException).code ?? String(err) } satisfies Returned);
      count(FAILED);
      return;
    }
    count(++written);
  });
}
