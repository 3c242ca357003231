/**
 * A session file framed and written on a thread of its own (frame-thread-worker.ts), for what
 * `import` writes. Measured on a 2,000,000-packet import: the payload CRCs (0.29 s) and write(2)
 * (0.35 s) were a third of its 2.0 s, on the one thread that also reads and parses the capture.
 *
 * The writer fills one of four payload buffers while the thread frames the others (frame.ts,
 * the code InlineFrames runs) and writes them, in order. A buffer goes to the thread and comes
 * back by transfer, never copied; not shared instead, because V8 copies into a
 * SharedArrayBuffer with relaxed atomics: the packets' copy into the chunk took 0.81 s instead of
 * 0.25 s, measured. The writer learns of each frame written through one Atomics counter, which
 * only the thread writes: WRITTEN, the frames written so far, FAILED after a failed write (its
 * error code then waits on the port), STOPPED once the thread has stopped. The descriptor stays
 * the writer's and is closed only once the thread has stopped, never under a write in progress
 * (a descriptor closed and reused by the next file opened would take the rest of the frame).
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { compiledFile } from '../project.js';
import type { FrameTypeCode } from './frame.js';
import { InlineFrames, type FrameSink } from './frame-sink.js';
import type { FileSink } from './sink.js';

export const WRITTEN = 0;
/** Set by the thread as its code starts. */
export const STARTED = 1;
export const FAILED = -1;
export const STOPPED = -2;

/** What the thread is given, in its first message. */
export interface FrameThreadData {
  fd: number;
  control: SharedArrayBuffer;
  /** Frames in (FrameMessage), then 'stop'; back, each payload written (Returned) or a write's error code. */
  port: MessagePort;
}

export interface FrameMessage {
  payload: ArrayBuffer;
  type: FrameTypeCode;
  sequence: number;
  eventCount: number;
  length: number;
}

export type Returned = { payload: ArrayBuffer } | { error: string };

const BUFFERS = 4;
const THREAD_START_MS = 20_000;

function spawn(): Worker {
  // No execArgv: the command's own (`--input-type=module -e ...`, as the tests run netprov) can be
  // refused by a thread, which then never starts.
  const thread = new Worker(compiledFile('recorder/session/frame-thread-worker.js'), { execArgv: [] });
  thread.unref();
  // A failure to start is reported by the wait that notices it (waitUntil), not a second time.
  thread.on('error', () => {});
  return thread;
}
let early: Worker | null = null;

/**
 * Starts a thread now, for the session `import` will write once its command line is parsed:
 * starting one took ~30 ms of a 0.4 s import, measured. A thread nobody takes holds nothing up.
 */
export function startFrameThreadEarly(): void {
  early ??= spawn();
}

export class FrameThread implements FrameSink {
  private readonly control: Int32Array;
  private readonly port: MessagePort;
  private readonly free: ArrayBuffer[];
  private submitted = 0;
  /** The ring's buffer lent last, until it goes to the thread; null when the one lent is too big for the ring. */
  private lentPayload: ArrayBuffer | null = null;
  /** Writes the signature, and frames on this thread what is too big for the ring (it is rare). */
  private readonly inline: InlineFrames;
  private open = true;
  private readonly thread: Worker;

  /**
   * `payloadBytes`: a SessionWriter's chunk and its slack (writer.ts chunkRoom); a bigger payload is
   * framed here, after the thread has written every frame before it.
   */
  constructor(
    private readonly file: FileSink,
    private readonly payloadBytes: number,
  ) {
    const control = new SharedArrayBuffer(8);
    this.control = new Int32Array(control);
    this.free = Array.from({ length: BUFFERS }, () => new ArrayBuffer(payloadBytes));
    this.inline = new InlineFrames(file);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: FrameThreadData = { fd: file.fd, control, port: port2 };
    this.thread = early ?? spawn();
    early = null;
    this.thread.postMessage(data, [port2]);
    port1.unref();
  }

  buffer(bytes: number): Buffer {
    // A buffer lent and not written (the writer wanted a bigger one) is free again.
    if (this.lentPayload) this.free.push(this.lentPayload);
    this.lentPayload = null;
    if (bytes > this.payloadBytes) {
      this.waitUntil((written) => written === this.submitted);
      return this.inline.buffer(bytes);
    }
    // A buffer is back on the port before the count says its frame is written.
    this.waitUntil((written) => this.submitted - written < BUFFERS);
    this.takeReturned();
    this.lentPayload = this.free.pop()!;
    return Buffer.from(this.lentPayload);
  }

  write(type: FrameTypeCode, sequence: number, eventCount: number, length: number): void {
    if (!this.lentPayload) {
      this.inline.write(type, sequence, eventCount, length);
      return;
    }
    const frame: FrameMessage = { payload: this.lentPayload, type, sequence, eventCount, length };
    this.port.postMessage(frame, [this.lentPayload]);
    this.lentPayload = null;
    this.submitted++;
  }

  close(): void {
    try {
      this.waitUntil((written) => written === this.submitted);
    } finally {
      this.abandon();
    }
  }

  abandon(): void {
    if (!this.open) return;
    this.open = false;
    this.port.postMessage('stop');
    if (!Atomics.load(this.control, STARTED)) {
      // Never started (a failure already thrown): the descriptor is left open rather than closed
      // under a thread that might yet start and write to whatever file takes its number.
      void this.thread.terminate();
      return;
    }
    for (let written; (written = Atomics.load(this.control, WRITTEN)) !== STOPPED; ) Atomics.wait(this.control, WRITTEN, written);
    this.port.close();
    this.file.close();
  }

  /** Takes what the thread sent back: payloads to fill again, and the error code of a failed write. */
  private takeReturned(): string | null {
    let error: string | null = null;
    for (let back; (back = receiveMessageOnPort(this.port)); ) {
      const returned = back.message as Returned;
      if ('payload' in returned) this.free.push(returned.payload);
      else error = returned.error;
    }
    return error;
  }

  /** Frames the thread has written; throws the file's write error once it has failed. */
  private written(): number {
    const written = Atomics.load(this.control, WRITTEN);
    if (written === FAILED) {
      const code = this.takeReturned() ?? 'unknown error';
      this.abandon();
      throw new InputError(`${this.file.name}: cannot write session file (${code})`);
    }
    return written;
  }

  /** Waits on the very count `done` refused: a frame written between the two would be a wake-up lost. */
  private waitUntil(done: (written: number) => boolean): void {
    for (let written = this.written(); !done(written); written = this.written()) {
      // A thread that failed to start would leave this wait forever: its failure is not seen here.
      if (Atomics.wait(this.control, WRITTEN, written, THREAD_START_MS) === 'timed-out' && !Atomics.load(this.control, STARTED)) {
        this.abandon();
        throw new Error(`the thread writing ${this.file.name} did not start within ${THREAD_START_MS / 1000} s`);
      }
    }
  }
}
