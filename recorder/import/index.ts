/**
 * `netprov import`: detect each input's kind from its first bytes, open a source for it, merge
 * them into one session file.
 */
import { openSync, readSync, closeSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../errors.js';
import { FileSink } from '../session/sink.js';
import { writeThrough } from '../output-file.js';
import { SessionWriter, newHeader } from '../session/writer.js';
import { Cursor } from './cursor.js';
import { isEslogger, openEslogger } from './eslogger.js';
import { UndissectedLinkTypes } from './linktype.js';
import { mergeInto, peekAll, startNsOf } from './merge.js';
import { isPcap, openPcap } from './pcap.js';
import { isPcapng, openPcapng } from './pcapng.js';
import { InterfaceNumbers, type ImportSource } from './source.js';

/** Decompressed gzip inputs are held in memory; beyond this, ask the user to decompress first. */
const MAX_GUNZIPPED = 2 ** 31 - 1;

export interface ImportResult {
  output: string;
  events: number;
  inputs: { file: string; description: string }[];
  warnings: string[];
}

export interface ImportOptions {
  host?: string;
  version?: string;
  /** Replace an existing output (never an input). */
  force?: boolean;
}

function firstBytes(file: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new InputError(`${file}: cannot open (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    const head = Buffer.alloc(64 * 1024);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } catch (err) {
    throw new InputError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  } finally {
    closeSync(fd);
  }
}

/** Opens the right reader for a file's content. */
export function openInput(file: string, interfaces: InterfaceNumbers): ImportSource {
  let head = firstBytes(file);
  let cursor: Cursor;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    let bytes: Buffer;
    try {
      bytes = gunzipSync(readFileSync(file), { maxOutputLength: MAX_GUNZIPPED });
    } catch (err) {
      throw new InputError(`${file}: gzip data does not decompress (${(err as Error).message}); decompress it first`);
    }
    cursor = Cursor.ofBytes(bytes);
    head = bytes.subarray(0, 64 * 1024);
  } else {
    cursor = Cursor.ofFile(file);
  }
  if (isPcap(head)) return openPcap(cursor, file, interfaces);
  if (isPcapng(head)) return openPcapng(cursor, file, interfaces);
  if (isEslogger(head)) return openEslogger(cursor, file);
  cursor.close();
  throw new InputError(`${file}: not a pcap, pcapng, eslogger JSON or gzip of one (input kinds are detected from content)`);
}

export function importFiles(files: string[], output: string, options: ImportOptions = {}): ImportResult {
  if (files.length === 0) throw new InputError('import: no input files');
  const interfaces = new InterfaceNumbers();
  const sources: ImportSource[] = [];
  try {
    for (const file of files) sources.push(openInput(file, interfaces));
    const { heads, start } = peekAll(sources);
    const header = newHeader({
      startNs: startNsOf(start),
      host: options.host ?? 'unknown',
      sensor: { name: 'netprov-import', version: options.version ?? '0' },
      clockNotes: `imported; session time is each input's own capture time: ${sources.map((s) => `${s.file} (${s.description})`).join('; ')}`,
    });
    // Written under a temporary name and renamed into place whole: a failed import leaves no session.
    const tally = new UndissectedLinkTypes();
    const events = writeThrough(output, { inputs: files, force: options.force ?? false }, 'file', (temporary) => {
      const writer = new SessionWriter(new FileSink(temporary, output), header);
      const written = mergeInto(writer, heads, start, tally);
      writer.close();
      return written;
    });
    return {
      output,
      events,
      inputs: sources.map((s) => ({ file: s.file, description: s.description })),
      warnings: [...sources.flatMap((s) => s.notes.warnings), ...tally.lines().map((line) => `${output}: ${line}`)],
    };
  } finally {
    for (const source of sources) source.close();
  }
}
