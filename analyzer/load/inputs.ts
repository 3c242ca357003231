/**
 * What the analyzer's commands accept: session files, each its own session, and captures (pcap,
 * pcapng, eslogger JSON, gzip of any), all of which together make one session, merged as
 * `import` would merge them and streamed without a session file being written first.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { InputError } from '../../recorder/errors.js';
import { checkInputFiles, unreadable } from '../../recorder/input-file.js';
import { compressionNotRead, isSession, looksLikeCapture } from '../../recorder/import/formats.js';

export type LoadInput =
  | { kind: 'session'; path: string }
  | {
      kind: 'captures';
      files: string[];
      /** Also write the merged session here (a temporary name, renamed by the caller), named `name` in messages. */
      save?: { temporary: string; name: string };
    };

function head(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw unreadable(path, 'open', err);
  }
  try {
    const bytes = Buffer.alloc(64 * 1024);
    return bytes.subarray(0, readSync(fd, bytes, 0, bytes.length, 0));
  } catch (err) {
    throw unreadable(path, 'read', err);
  } finally {
    closeSync(fd);
  }
}

/** Sorts paths into sessions and one capture group (placed where its first file was), by content. */
export function classifyInputs(paths: string[]): LoadInput[] {
  checkInputFiles(paths);
  const inputs: LoadInput[] = [];
  let captures: Extract<LoadInput, { kind: 'captures' }> | null = null;
  for (const path of paths) {
    const bytes = head(path);
    if (isSession(bytes)) inputs.push({ kind: 'session', path });
    else if (looksLikeCapture(bytes)) {
      if (!captures) inputs.push((captures = { kind: 'captures', files: [] }));
      captures.files.push(path);
    } else {
      throw new InputError(`${path}: ${compressionNotRead(bytes) ?? 'neither a netprov session nor a pcap, pcapng, eslogger JSON or gzip capture (detected from content)'}`);
    }
  }
  return inputs;
}

/** The name an input goes by in messages: rotated captures, thousands of files, by their first and last. */
export function inputName(input: LoadInput): string {
  if (input.kind === 'session') return input.path;
  const { files } = input;
  return files.length <= 3 ? files.join(' + ') : `${files[0]} + … + ${files.at(-1)} (${files.length} captures)`;
}
