// Runs one of the bundle's CommonJS files (dist/bundle/**/*.cjs, bin/build-bundle.js) with V8's
// code cache for it: the bytecode of every function a training run compiled, saved beside the
// file as FILE.v8cache, so that a command — and each of its worker threads — starts without
// parsing and compiling its JavaScript again. Measured on this project's 2-core VM (alternating
// runs): `analyze` of an empty capture 0.27 -> 0.21 s, of 400,000 packets with --db 0.80 ->
// 0.76 s. Node 20 has no code cache for ES modules (module.enableCompileCache is Node 22), which is
// why the bundle is CommonJS.
//
// A cache V8 does not accept (another Node, a changed bundle, a damaged file) is ignored: the
// file is then compiled as it would have been without one.
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/** The function a CommonJS file's text becomes, as Node's own loader wraps it. */
export const wrap = (source) => `(function (exports, require, module, __filename, __dirname) {${source}\n})`;

/** Runs the .cjs file at `url` in this thread, with its code cache if V8 takes it. */
export function runCached(url) {
  const file = fileURLToPath(url);
  const cacheFile = `${file}.v8cache`;
  const script = new vm.Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData: readIfThere(cacheFile) });
  // Set by bin/build-bundle.js's training runs only.
  if (process.env.NETPROV_WRITE_CODE_CACHE === '1') keepWriting(script, cacheFile);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
}

function readIfThere(path) {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Saves the cache at exit and every 25 ms until then: a worker thread that is terminated sees no
 * exit event, and what it compiled last is what the cache should hold. Written under another
 * name and renamed, so that a thread stopped mid-write leaves no half a cache.
 */
function keepWriting(script, cacheFile) {
  const write = () => {
    const temporary = `${cacheFile}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(temporary, script.createCachedData());
    // Readable by whoever may run netprov, as the bundle is (netprov's own umask is 077).
    chmodSync(temporary, 0o644);
    renameSync(temporary, cacheFile);
  };
  process.on('exit', write);
  setInterval(write, 25).unref();
}
