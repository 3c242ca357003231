/**
 * The fuzzer's child process: takes one input file at a time from its parent, runs it through
 * what a user would (a capture analysed straight, imported, inspected, analysed in memory; a
 * session straight into inspect and analyze), and answers how it went. An InputError is the
 * right answer to a broken input; any other error is a crash (exit 2 for a user). The parent
 * watches time and memory.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../../analyzer/analyze.js';
import { InputError } from '../../recorder/errors.js';
import { importFiles } from '../../recorder/import/index.js';
import { inspect } from '../../recorder/inspect.js';

export interface Job {
  input: string;
  /** The input is a session file (else a capture or log to import). */
  session: boolean;
  scratch: string;
}

export interface Outcome {
  crash: string | null;
  rss: number;
}

/** Captures analysed straight, so far: every other one is merged with itself (equal times across inputs). */
let straight = 0;

/**
 * A capture analysed straight, as `analyze CAPTURE --save S --verify-checksums` does: the native
 * decoder, the copy into the saved session and the checksums, on bytes nobody meant. An
 * InputError is a right answer here too; the steps after it still run.
 */
async function analyzeStraight(job: Job): Promise<void> {
  const saved = join(job.scratch, 'fuzz-saved.npsession');
  rmSync(saved, { force: true });
  const inputs = straight++ % 2 === 0 ? [job.input] : [job.input, job.input];
  try {
    const { db } = await analyze(inputs, { db: null, salvage: true, verifyChecksums: true, save: { temporary: saved, name: saved } });
    db.close();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
  }
}

async function run(job: Job): Promise<void> {
  let session = job.input;
  if (!job.session) {
    await analyzeStraight(job);
    session = join(job.scratch, 'fuzz.npsession');
    rmSync(session, { force: true });
    importFiles([job.input], session, { force: true });
  }
  inspect(session, true);
  const { db } = await analyze([session], { db: null, salvage: true });
  db.close();
}

process.on('message', async (job: Job) => {
  let crash: string | null = null;
  try {
    await run(job);
  } catch (err) {
    if (!(err instanceof InputError)) crash = (err as Error)?.stack ?? String(err);
  }
  process.send!({ crash, rss: process.memoryUsage().rss } satisfies Outcome);
});
