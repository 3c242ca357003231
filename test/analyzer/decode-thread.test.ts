import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { decoderThread, startDecoderEarly } from '../../analyzer/load/decode-thread.js';
import { repoRoot } from '../helpers/paths.js';

describe('the decoding thread started early', () => {
  it('goes to the first load; the next load starts its own', async () => {
    startDecoderEarly();
    startDecoderEarly(); // a second call starts no second thread
    const later = new Worker('', { eval: true });
    const first = decoderThread();
    const second = decoderThread();
    // Thread ids count up: the first was started before `later`, the second after it.
    expect(first.threadId).toBeLessThan(later.threadId);
    expect(second.threadId).toBeGreaterThan(later.threadId);
    await Promise.all([first, second, later].map((w) => w.terminate()));
  });

  it('does not keep a process alive that never loads anything', () => {
    const script = `import(${JSON.stringify(join(repoRoot, 'dist/analyzer/load/decode-thread.js'))}).then((m) => m.startDecoderEarly())`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.error).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
  });
});
