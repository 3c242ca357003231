/**
 * `netprov record`: a session stream (signature, header frame, chunk frames, trailer — what a
 * sensor hands over) written to a session file as it arrives, every frame checked first. The
 * file is always a valid prefix: a frame is written only once it is whole and its checksums hold.
 */
import type { Readable } from 'node:stream';
import { InputError } from './errors.js';
import { FILE_SIGNATURE, FRAME_HEADER_SIZE, FrameType, decodeFrameHeader, payloadIsIntact } from './session/frame.js';
import { DurableFileSink } from './session/sink.js';

export interface RecordSummary {
  frames: number;
  events: number;
  bytes: number;
  complete: boolean;
}

export async function recordStream(
  stream: Readable,
  output: string,
  source: string,
  stop?: AbortSignal,
  onFrame?: (summary: Readonly<RecordSummary>) => void,
  /** Replace the file at `output` (checked by checkInPlace). */
  replace = false,
): Promise<RecordSummary> {
  const sink = new DurableFileSink(output, output, replace);
  const summary: RecordSummary = { frames: 0, events: 0, bytes: 0, complete: false };
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0; // stream offset of pending[0]
  let signed = false;
  try {
    for await (const data of stream as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, data]) : data;
      if (!signed) {
        if (pending.length < FILE_SIGNATURE.length) continue;
        if (!pending.subarray(0, FILE_SIGNATURE.length).equals(FILE_SIGNATURE)) throw new InputError(`${source}: not a netprov session stream (no session signature at byte 0)`);
        sink.write(pending.subarray(0, FILE_SIGNATURE.length));
        pending = pending.subarray(FILE_SIGNATURE.length);
        offset = FILE_SIGNATURE.length;
        signed = true;
      }
      while (pending.length >= FRAME_HEADER_SIZE) {
        const header = decodeFrameHeader(pending.subarray(0, FRAME_HEADER_SIZE));
        if (typeof header === 'string') throw new InputError(`${source}: frame at byte ${offset}: ${header}`);
        const size = FRAME_HEADER_SIZE + header.payloadLength;
        if (pending.length < size) break;
        if (!payloadIsIntact(header, pending.subarray(FRAME_HEADER_SIZE, size))) throw new InputError(`${source}: frame at byte ${offset}: payload checksum mismatch`);
        sink.write(pending.subarray(0, size));
        summary.frames++;
        summary.events += header.eventCount;
        summary.bytes = offset + size;
        if (header.type === FrameType.trailer) summary.complete = true;
        onFrame?.(summary);
        pending = pending.subarray(size);
        offset += size;
      }
      if (stop?.aborted) break;
    }
  } catch (err) {
    try {
      sink.close();
    } catch {
      // the first failure is the one to report
    }
    throw err;
  }
  sink.close();
  return summary;
}
