/** Files that ship beside the code (SQL, query library): found from the package root, built or not. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

export function projectRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'analyzer/schema.sql'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('netprov: package root not found');
    dir = up;
  }
  root = dir;
  return dir;
}

export const projectFile = (relative: string): string => join(projectRoot(), relative);
