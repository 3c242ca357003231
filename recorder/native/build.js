// npm install's step for the sensor bridge: builds the platform's sensor and the addon that
// hosts it (`npm run build:sensor` runs it with --required). Without the build tools a plain
// `npm install` still succeeds — everything but live recording works — and says what to install;
// `netprov record` says the same when asked to record.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeGyp, whyFailed } from './node-gyp.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const required = process.argv.includes('--required');
// npm install rebuilds only what changed once configured (gyp's Makefiles track headers too);
// `npm run build:sensor` starts clean, e.g. after a Node upgrade.
const gypRebuild = nodeGyp(here, !required && existsSync(join(here, 'build/Makefile')) ? 'build' : 'rebuild');
const steps = {
  linux: [['make', '-s', '-C', join(root, 'sysex/linux')], gypRebuild],
  darwin: [gypRebuild],
}[process.platform];
// What to install and run: the same words `netprov record` uses (recorder/sensor.ts).
const howTo = JSON.parse(readFileSync(join(here, 'build-steps.json'), 'utf8'))[process.platform];

if (!steps) {
  console.error(`netprov: no sensor for ${process.platform}; import and analysis work, live recording does not`);
  process.exit(required ? 1 : 0);
}
for (const [command, ...args] of steps) {
  const run = spawnSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.status === 0) continue;
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim();
  const why = run.error ? `${command} not found` : whyFailed(output, `${command} failed`);
  if (required) console.error(output);
  console.error(`netprov: the sensor was not built (${why}); live recording needs it: ${howTo}`);
  process.exit(required ? 1 : 0);
}
console.error(`netprov: built the ${process.platform === 'linux' ? 'Linux sensor' : 'client of the system extension'} and its bridge (recorder/native)`);
