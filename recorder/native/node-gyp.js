// node-gyp as npm install's build steps run it (recorder/native/build.js, analyzer/native/build.js).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The command line that builds the addon in `directory`: `rebuild` starts clean, `build` only rebuilds what changed. */
export function nodeGyp(directory, verb) {
  // The project's node-gyp (12: 13 needs Node 22), else the one npm puts on a script's PATH.
  const command = (() => {
    try {
      return [process.execPath, createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js')];
    } catch {
      return ['node-gyp'];
    }
  })();
  // This Node's own headers, so nothing is downloaded (npm sets nodedir for its scripts; a direct run does not).
  const nodeDir = process.env.npm_config_nodedir || join(dirname(process.execPath), '..');
  return [...command, verb, '--directory', directory, ...(existsSync(join(nodeDir, 'include/node/node.h')) ? [`--nodedir=${nodeDir}`] : [])];
}

/** The line of a failed build's output that says why, else `fallback`. */
export function whyFailed(output, fallback) {
  const lines = output.trim().split('\n');
  return (lines.find((line) => /error:|not found|No such/i.test(line)) ?? lines.find((line) => /ERR!/.test(line)) ?? fallback).trim();
}
