// npm install's step for the native gzip inflater (binding.gyp). It needs only a C compiler;
// without one a plain `npm install` still succeeds and says so: gzip inputs are then inflated in
// JavaScript (pako), with the same bytes, more slowly.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeGyp, whyFailed } from '../../native/node-gyp.js';

const here = dirname(fileURLToPath(import.meta.url));
const [command, ...args] = nodeGyp(here, existsSync(join(here, 'build/Makefile')) ? 'build' : 'rebuild');
const run = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (run.status !== 0) {
  const why = run.error ? `${command} not found` : whyFailed(`${run.stdout ?? ''}${run.stderr ?? ''}`, `${command} failed`);
  console.error(`netprov: the native gzip inflater was not built (${why}); gzip inputs are inflated in JavaScript, more slowly: install a C compiler (Debian: apt-get install gcc make python3), then run node recorder/import/native/build.js`);
} else {
  console.error('netprov: built the native gzip inflater (recorder/import/native)');
}
