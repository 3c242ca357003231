/**
 * Files that ship beside the code (SQL, the query library, the sensor binary): found from the
 * package root, built or not — the nearest folder above this file whose package.json is netprov's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

const isPackageRoot = (dir: string): boolean => {
  const manifest = join(dir, 'package.json');
  return existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'netprov';
};

export function projectRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!isPackageRoot(dir)) {
    const up = dirname(dir);
    if (up === dir) throw new Error('netprov: package root not found');
    dir = up;
  }
  root = dir;
  return dir;
}

export const projectFile = (relative: string): string => join(projectRoot(), relative);

/**
 * The compiled module for `relative` (a path below dist/, such as a worker thread's file): the
 * bundle's when this code runs from the bundle (bin/build-bundle.js), tsc's otherwise.
 */
export function compiledFile(relative: string): string {
  const bundled = fileURLToPath(import.meta.url).startsWith(projectFile(join('dist', 'bundle')) + sep);
  return projectFile(join(bundled ? 'dist/bundle' : 'dist', relative));
}

/**
 * A native addon npm install builds where a compiler exists (analyzer/native,
 * recorder/import/native), or null where it could not: its caller then does the same in JavaScript.
 */
export function optionalAddon<T>(relative: string): T | null {
  try {
    return createRequire(import.meta.url)(projectFile(relative)) as T;
  } catch {
    return null;
  }
}

/** netprov's own version, as package.json gives it. */
export const projectVersion = (): string => (JSON.parse(readFileSync(projectFile('package.json'), 'utf8')) as { version: string }).version;
