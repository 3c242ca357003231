/**
 * The recorder's macOS backend (recorder/native/src/darwin_backend.cc) is plain POSIX: it runs the
 * system extension's client tool and cuts its stdout back into whole pieces. Here it is built and
 * run on Linux by a small driver (recorder/native/test/backend-driver.cc) against a stand-in for
 * netprov-sysex-client that writes a real session in ragged chunks, as a pipe delivers it. What
 * only a Mac can show — that the real tool gets the stream from the extension — is in
 * sysex/macos/README.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, scratch } from '../helpers/paths.js';

const session = readFileSync(join(repoRoot, 'fixtures/linux-curl.npsession'));
let driver = '';
let dir = '';

/** A stand-in client: MODE whole | cut | refuse; on SIGINT it writes what is left (the trailer) and exits 0. */
const standIn = `#!/usr/bin/env node
const fs = require('node:fs');
const bytes = fs.readFileSync(process.env.SESSION);
const mode = process.env.MODE;
if (mode === 'refuse') {
  process.stderr.write('netprov-sysex-client: the system extension refused: another recorder is recording\\n');
  process.exit(1);
}
const end = mode === 'cut' ? bytes.length - 5 : bytes.length;
let at = 0;
let stopped = false;
process.on('SIGINT', () => { fs.writeFileSync(process.env.MARK, 'SIGINT'); stopped = true; });
const sizes = [1, 7, 3, 100, 31, 33, 4096, 2];
let i = 0;
function next() {
  if (at >= end) return process.exit(0);
  const size = stopped ? end - at : sizes[i++ % sizes.length];
  fs.writeSync(1, bytes.subarray(at, Math.min(end, at + size)));
  at += size;
  process.stderr.write('counts 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 ' + (at > 2000 ? 4 : 0) + '\\n');
  setTimeout(next, mode === 'slow' ? 5 : 0);
}
next();
`;

beforeAll(() => {
  dir = scratch();
  driver = join(dir, 'backend-driver');
  execFileSync('g++', ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-O1', '-g', '-fsanitize=address,undefined',
    join(repoRoot, 'recorder/native/src/darwin_backend.cc'), join(repoRoot, 'recorder/native/test/backend-driver.cc'), '-o', driver]);
  writeFileSync(join(dir, 'session'), session);
  writeFileSync(join(dir, 'client'), standIn);
  chmodSync(join(dir, 'client'), 0o755);
});

function run(mode: string, extra: Record<string, string> = {}) {
  const mark = join(dir, `mark-${mode}`);
  const result = spawnSync(driver, {
    env: { ...process.env, NETPROV_SYSEX_CLIENT: join(dir, 'client'), SESSION: join(dir, 'session'), MODE: mode, MARK: mark, ...extra },
    maxBuffer: 1 << 26,
  });
  const stderr = result.stderr.toString();
  const pieces = [...stderr.matchAll(/^piece (\d+)$/gm)].map((m) => Number(m[1]));
  return { status: result.status, stdout: result.stdout, pieces, done: /^done: (.*)$/m.exec(stderr)?.[1], stopped: existsSync(mark) };
}

/** The sizes a session cuts into: the 8-byte signature, then each frame's 32-byte header and payload. */
function expectedPieces(bytes: Buffer): number[] {
  const sizes = [8];
  for (let at = 8; at < bytes.length; ) {
    const size = 32 + bytes.readUInt32LE(at + 12);
    sizes.push(size);
    at += size;
  }
  return sizes;
}

describe('the macOS backend, built and run here against a stand-in client', () => {
  it('hands over the session as whole pieces — the signature, then one frame each — however the pipe cuts it', () => {
    const r = run('whole');
    expect(r.done).toBe(`ok events=120 lost=4 bytes=${session.length}`);
    expect(r.status).toBe(0);
    expect(Buffer.compare(r.stdout, session)).toBe(0);
    expect(r.pieces).toEqual(expectedPieces(session));
    expect(r.pieces.length).toBeGreaterThan(3);
  });

  it('a stop asks the client (SIGINT) to end the recording, and the rest of the stream still arrives', () => {
    const r = run('slow', { STOP_AFTER: '2' });
    expect(r.stopped).toBe(true);
    expect(r.done).toMatch(/^ok /);
    expect(Buffer.compare(r.stdout, session)).toBe(0);
  });

  it('says why when the client fails, and when the stream ends inside a frame', () => {
    const refused = run('refuse');
    expect(refused.status).toBe(1);
    expect(refused.done).toMatch(/^the system extension refused: another recorder is recording /);
    const cut = run('cut');
    expect(cut.done).toMatch(/^the session stream ended inside a frame /);
    expect(cut.pieces.reduce((a, b) => a + b, 0)).toBeLessThan(session.length);
  });

  it('refuses at once, naming the path, when the client is not installed', () => {
    const result = spawnSync(driver, { env: { ...process.env, NETPROV_SYSEX_CLIENT: join(dir, 'absent') } });
    expect(result.status).toBe(1);
    expect(result.stderr.toString()).toMatch(/^open: .*absent not found: install Netprov\.app/);
  });
});
