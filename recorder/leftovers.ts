/**
 * What a command must not leave behind when it stops early — a temporary output not yet renamed
 * into place, a private folder of spill and packet files — is registered here and removed when the
 * process exits, including on SIGINT and SIGTERM (exit 130 and 143), unless released first.
 * Without this a Ctrl-C took Node's default action, which runs no exit handler: an in-memory
 * analysis left its packet files in the temp dir (194 MB after a second of 2,000,000 packets).
 *
 * The signal handlers exist only while something is registered, so that they never take SIGINT
 * from a command that handles it itself (record stops cleanly on it). A file another thread
 * creates after the removal has nowhere to go: everything registered is a folder (output-file.ts
 * writes its temporary files inside one). SIGKILL leaves what it leaves: those folders are hidden
 * and name their process.
 */
import { rmSync } from 'node:fs';

const registered = new Set<string>();

/** Until `release()`: `paths` (folders, with all they hold) are removed if the process exits or is interrupted. */
export function removedAtExit(...paths: string[]): { release(): void } {
  if (registered.size === 0) {
    process.on('exit', removeAll);
    process.on('SIGINT', interrupted);
    process.on('SIGTERM', interrupted);
  }
  for (const path of paths) registered.add(path);
  return {
    release() {
      for (const path of paths) registered.delete(path);
      if (registered.size > 0) return;
      process.off('exit', removeAll);
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
    },
  };
}

function removeAll(): void {
  for (const path of registered) {
    try {
      // Retried: DuckDB's threads may still be adding spill files to a folder being removed.
      rmSync(path, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 });
    } catch {
      // Exiting anyway: nothing left to tell the user with but stderr, and the path is in the temp dir.
    }
  }
  registered.clear();
}

function interrupted(signal: NodeJS.Signals): void {
  process.exit(signal === 'SIGINT' ? 130 : 143);
}
