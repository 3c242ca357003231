/**
 * A new 0700 folder in the system temp dir for what an analysis keeps to itself — DuckDB's spill
 * files and an in-memory analysis's packet files (database.ts), a load's Parquet parts of flows and DNS rows (loader.ts) —
 * removed by `remove`, or when the process exits or is interrupted if nothing removed it before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removedAtExit } from '../../recorder/leftovers.js';

export function privateFolder(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const leftover = removedAtExit(path);
  const remove = () => {
    rmSync(path, { recursive: true, force: true });
    leftover.release();
  };
  return { path, remove };
}
