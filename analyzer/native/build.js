// npm install's step for the analyzer's native decoder and connection tracker (binding.gyp). It
// needs only a C and C++ compiler; without one a plain `npm install` still succeeds and says so:
// every packet is then decoded and tracked in TypeScript, with the same results, more slowly.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeGyp, whyFailed } from '../../recorder/native/node-gyp.js';

const here = dirname(fileURLToPath(import.meta.url));
const [command, ...args] = nodeGyp(here, existsSync(join(here, 'build/Makefile')) ? 'build' : 'rebuild');
const run = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (run.status !== 0) {
  const why = run.error ? `${command} not found` : whyFailed(`${run.stdout ?? ''}${run.stderr ?? ''}`, `${command} failed`);
  console.error(`netprov: the native packet decoder and connection tracker were not built (${why}); analysis works without it, more slowly: install a C and C++ compiler (Debian: apt-get install g++ make python3), then run node analyzer/native/build.js`);
} else {
  console.error('netprov: built the native packet decoder and connection tracker (analyzer/native)');
}
