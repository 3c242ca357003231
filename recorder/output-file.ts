/**
 * Every file or folder netprov writes goes through here, because a forensic tool must never
 * destroy evidence: an output is refused if it is one of the inputs (same device and inode, also
 * through a link), if its path is a symbolic link (never followed), or if something already
 * exists there and `--force` was not given. A file is written in a hidden folder beside it and
 * renamed into place only when complete, so a failed or interrupted command leaves either
 * nothing or the previous file (SIGKILL leaves the hidden folder, named for its process).
 * Everything is created 0600 (folders 0700): outputs hold what sessions hold — payloads, command
 * lines, paths.
 *
 * `netprov record` alone writes in place (its partial file is its purpose, marked incomplete
 * until its trailer is written); it takes the same checks (prepareInPlace).
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, lstatSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from './errors.js';
import { removedAtExit } from './leftovers.js';

/** What an output is checked against. */
export interface OutputPolicy {
  /** Every file the command reads: none may be written. */
  inputs: readonly string[];
  /** Replace what exists at the output path. */
  force: boolean;
}

const reason = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InputError(`${path}: cannot check the output path (${reason(err)})`);
  }
}

/**
 * Refuses an output path no command may write; returns what is there now (null: nothing).
 * `kind` says what the output is, for the messages.
 */
export function checkOutput(path: string, policy: OutputPolicy, kind: 'file' | 'folder' = 'file'): Stats | null {
  const there = lstatOrNull(path);
  if (there?.isSymbolicLink()) throw new InputError(`${path}: the output is a symbolic link; netprov never writes through one`);
  if (there) {
    for (const input of policy.inputs) {
      let same = false;
      try {
        const s = statSync(input);
        same = s.dev === there.dev && s.ino === there.ino;
      } catch {
        // an input that cannot be stat'ed is reported by the command that reads it
      }
      if (same) throw new InputError(`${path}: the output is one of the inputs (${input}); netprov never overwrites evidence`);
    }
    if (kind === 'file' && !there.isFile()) throw new InputError(`${path}: the output exists and is not a regular file`);
    if (kind === 'folder' && !there.isDirectory()) throw new InputError(`${path}: the output exists and is not a folder`);
    if (!policy.force) throw new InputError(`${path}: the output already exists; give --force to replace it`);
  }
  return there;
}

/** A hidden name beside `path`, unique to this process. */
function temporaryName(path: string): string {
  return join(dirname(resolve(path)), `.${basename(path)}.netprov-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Runs `write` on a fresh temporary path (a file it creates, in a hidden 0700 folder beside
 * `path`; for a folder, that empty folder), then renames the result over `path` — replacing what
 * --force allowed, never following a link. If `write` fails, or the process is interrupted, the
 * temporary folder is removed with all it holds and `path` keeps what it had.
 */
export function writeThrough<T>(path: string, policy: OutputPolicy, kind: 'file' | 'folder', write: (temporaryPath: string) => T): T {
  checkOutput(path, policy, kind);
  // Everything is made inside one hidden folder beside the output (for a folder, the output
  // itself), so that removing that folder takes all a writer made: the write-ahead log DuckDB
  // keeps beside a database, and a file another thread (DuckDB's, the session writer's) creates
  // after an interruption has removed everything — none can be created in a folder that is gone.
  const scratch = temporaryName(path);
  try {
    mkdirSync(scratch, { mode: 0o700 });
  } catch (err) {
    throw new InputError(`${path}: cannot create the output (${reason(err)} in ${dirname(scratch)})`);
  }
  const temporary = kind === 'folder' ? scratch : join(scratch, basename(path));
  const leftover = removedAtExit(scratch);
  const finish = (result: T): T => {
    try {
      commit(path, temporary, kind);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      leftover.release();
    }
    return result;
  };
  const fail = (err: unknown): never => {
    rmSync(scratch, { recursive: true, force: true });
    leftover.release();
    // The failure names the output, by the name given: a writer's own message (DuckDB's "Could
    // not write file ...") and an errno's path name its temporary one, and a write's errno none
    // (a full disk said "ENOSPC (write)").
    if (err instanceof Error) {
      err.message = err.message.replaceAll(temporary, path);
      const errno = err as NodeJS.ErrnoException;
      if (errno.code) errno.path = typeof errno.path === 'string' ? errno.path.replaceAll(temporary, path) : path;
    }
    throw err;
  };
  let result: T;
  try {
    result = write(temporary);
  } catch (err) {
    return fail(err);
  }
  if (result instanceof Promise) return result.then(finish, fail) as T;
  return finish(result);
}

function commit(path: string, temporary: string, kind: 'file' | 'folder'): void {
  try {
    if (kind === 'folder' && lstatOrNull(path)) {
      // rename() cannot replace a non-empty folder: move the old one aside, then remove it.
      const old = temporaryName(path);
      renameSync(path, old);
      renameSync(temporary, path);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(temporary, path);
    }
  } catch (err) {
    rmSync(temporary, { recursive: true, force: true });
    throw new InputError(`${path}: cannot write the output (${reason(err)})`);
  }
}

/** A small output, whole, written safely in one call. */
export function writeOutputFile(path: string, content: Uint8Array | string, policy: OutputPolicy): void {
  writeThrough(path, policy, 'file', (temporary) => {
    try {
      writeFileSync(temporary, content, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      throw new InputError(`${path}: cannot write the output (${reason(err)})`);
    }
  });
}

/**
 * Checks `path` for a file written in place, as `record` writes its session (its partial file is
 * its purpose): the same checks, and a folder it can be created in. Returns whether a file is
 * there to replace: the writer removes it only when it creates its own (FileSink), so a refusal
 * in between (not root, no sensor) leaves it as it was.
 */
export function checkInPlace(path: string, policy: OutputPolicy): boolean {
  const folder = dirname(resolve(path));
  try {
    accessSync(folder, constants.W_OK);
  } catch (err) {
    throw new InputError(`${path}: cannot create the output (${folder}: ${reason(err)})`);
  }
  return checkOutput(path, policy) !== null;
}
