/**
 * `netprov import`: captures (pcap, pcapng, eslogger JSON, gzip of any) merged into one session
 * file. The reading and merging is captures.ts, shared with `analyze capture.pcap`.
 */
import { FileSink } from '../session/sink.js';
import { writeThrough } from '../output-file.js';
import { FrameThread } from '../session/frame-thread.js';
import { DEFAULT_CHUNK_BYTES, SessionWriter, chunkRoom } from '../session/writer.js';
import { CaptureStream, type CaptureOptions } from './captures.js';
import { pcapToSession } from './pcap-to-session.js';

export interface ImportResult {
  output: string;
  events: number;
  inputs: { file: string; description: string }[];
  warnings: string[];
}

export interface ImportOptions extends CaptureOptions {
  /** Replace an existing output (never an input). */
  force?: boolean;
}

export function importFiles(files: string[], output: string, options: ImportOptions = {}): ImportResult {
  const captures = new CaptureStream(files, options);
  try {
    // Written under a temporary name and renamed into place whole: a failed import leaves no session.
    const events = writeThrough(output, { inputs: files, force: options.force ?? false }, 'file', (temporary) => {
      const writer = new SessionWriter(new FrameThread(new FileSink(temporary, output), chunkRoom(DEFAULT_CHUNK_BYTES)), captures.header);
      try {
        const written = captures.forEach((event) => writer.append(event), pcapToSession(writer));
        writer.close();
        return written;
      } catch (err) {
        writer.abandon();
        throw err;
      }
    });
    return {
      output,
      events,
      inputs: captures.inputs,
      warnings: [...captures.warnings, ...captures.undissected.lines().map((line) => `${output}: ${line}`)],
    };
  } finally {
    captures.close();
  }
}
