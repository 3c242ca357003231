/**
 * What netprov reads must be a regular file. Every reader seeks or comes back: analyze reads a
 * file's head to tell sessions from captures and then reads it again from its loading thread,
 * a session is read by offset, and `export --pcap` returns to the file long after. A pipe
 * (`<(zcat x.gz)`, mkfifo) gives its bytes once — the second open then waits for a writer that
 * never comes — and a folder, socket or device holds no capture. Checked before opening: opening
 * a FIFO nobody writes to would wait too.
 */
import { statSync, type Stats } from 'node:fs';
import { InputError } from './errors.js';

/** What to do with a stream netprov was given to read (a pipe, standard input). */
export const STREAM_ADVICE = 'netprov reads its inputs by position and more than once; save the stream to a file first (e.g. … > capture.pcap)';

/** An input that could not be opened or read, in one line: its path, what failed, and the system's code. */
export const unreadable = (path: string, what: 'open' | 'read', err: unknown): InputError =>
  new InputError(`${path}: cannot ${what} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);

/** The file at `path`, or an InputError saying what is there instead. */
export function checkInputFile(path: string): Stats {
  let found: Stats;
  try {
    found = statSync(path);
  } catch (err) {
    throw unreadable(path, 'open', err);
  }
  if (found.isFile()) return found;
  if (found.isFIFO()) throw new InputError(`${path}: a pipe, not a file: ${STREAM_ADVICE}`);
  const what = found.isDirectory() ? 'a folder' : found.isSocket() ? 'a socket' : 'a device';
  throw new InputError(`${path}: ${what}, not a file of a capture or session`);
}

/**
 * Each of a command's inputs checked, and none given twice — by the same name, a link or another
 * path: merged with itself, a capture's every packet would count twice (a retransmission in each
 * connection's history).
 */
export function checkInputFiles(paths: string[]): void {
  const seen = new Map<string, string>();
  for (const path of paths) {
    const { dev, ino } = checkInputFile(path);
    const file = `${dev}:${ino}`;
    const first = seen.get(file);
    if (first !== undefined) throw new InputError(`${path}: ${first === path ? 'given twice' : `the same file as ${first}`}; its packets and events would count twice`);
    seen.set(file, path);
  }
}
