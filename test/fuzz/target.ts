/**
 * The fuzzer's child process: takes one input file at a time from its parent, runs it through
 * what a user would (import, inspect, analyze in memory; a session straight into inspect and
 * analyze), and answers how it went. An InputError is the right answer to a broken input; any
 * other error is a crash (exit 2 for a user). The parent watches time and memory.
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

async function run(job: Job): Promise<void> {
  let session = job.input;
  if (!job.session) {
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
