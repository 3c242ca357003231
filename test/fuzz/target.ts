/**
 * The fuzzer's child process: takes one input file at a time from its parent, runs it through
 * what a user would (a capture analysed straight, imported, inspected, analysed in memory; a
 * session straight into inspect and analyze; then every output of that analysis, and the
 * session replayed as JSON lines), and answers how it went. An InputError is the
 * right answer to a broken input; any other error is a crash (exit 2 for a user). The parent
 * watches time and memory.
 */
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { analysisJson, analyze } from '../../analyzer/analyze.js';
import { query, type Database } from '../../analyzer/db/database.js';
import { exportOcsf } from '../../analyzer/export/ocsf.js';
import { exportPcapng } from '../../analyzer/export/pcapng.js';
import { exportZeek } from '../../analyzer/export/zeek-logs.js';
import { flowRecords, jsonLines } from '../../analyzer/output/conn-log.js';
import { namedStatement, queryLibrary, run as runQuery } from '../../analyzer/query/library.js';
import { formatResult } from '../../analyzer/query/result.js';
import { reportData, reportHtml } from '../../analyzer/report/report.js';
import { InputError } from '../../recorder/errors.js';
import { eventJson } from '../../recorder/replay/replay.js';
import { orderedEvents } from '../../recorder/replay/order.js';
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

/** Captures analysed straight, so far: every other one is merged with a copy of itself (equal times across inputs). */
let straight = 0;

/** A step whose InputError is a right answer to a broken input: the steps after it still run. */
async function answered(step: () => unknown): Promise<void> {
  try {
    await step();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
  }
}

/**
 * A capture analysed straight, as `analyze CAPTURE --save S --verify-checksums` does: the native
 * decoder, the copy into the saved session and the checksums, on bytes nobody meant.
 */
async function analyzeStraight(job: Job): Promise<void> {
  const saved = join(job.scratch, 'fuzz-saved.npsession');
  rmSync(saved, { force: true });
  const merged = straight++ % 2 === 1;
  const copy = join(job.scratch, 'fuzz-copy');
  if (merged) copyFileSync(job.input, copy);
  const inputs = merged ? [job.input, copy] : [job.input];
  const { db } = await analyze(inputs, { db: null, salvage: true, verifyChecksums: true, save: { temporary: saved, name: saved } });
  db.close();
}

async function run(job: Job): Promise<void> {
  let session = job.input;
  if (!job.session) {
    await answered(() => analyzeStraight(job));
    session = join(job.scratch, 'fuzz.npsession');
    rmSync(session, { force: true });
    importFiles([job.input], session, { force: true });
  }
  inspect(session, true);
  // Replay reads without salvage: a corrupt session stops it, with an InputError.
  await answered(() => {
    for (const event of orderedEvents(session)) eventJson(event);
  });
  const { db } = await analyze([session], { db: null, salvage: true });
  try {
    await outputs(db, job.scratch);
  } finally {
    db.close();
  }
}

/**
 * What the commands print and write from an analysis: values no test foresaw (a time past 2^53
 * ns, a name of control bytes) must reach each format without a crash.
 */
async function outputs(db: Database, scratch: string): Promise<void> {
  await analysisJson(db);
  jsonLines(await flowRecords(db));
  reportHtml(await reportData(db));
  // The required parameters, from the analysis's own first flow.
  const [first] = await query(db, `SELECT uid, process_key, resp_h, strftime(ts, '%Y-%m-%d %H:%M:%S') AS at FROM flow_details ORDER BY start_t, uid LIMIT 1`);
  const given = { uid: String(first?.uid ?? 'none'), process_key: String(first?.process_key ?? 'none'), target: String(first?.resp_h ?? 'example.com'), from: String(first?.at ?? '2024-05-01 10:00:00'), until: '2554-01-01 00:00:00' }; // until past 2262, where DuckDB's ns timestamps end
  for (const named of queryLibrary()) {
    const wanted = Object.fromEntries(named.params.filter((p) => p.default === undefined).map((p) => [p.name, given[p.name as keyof typeof given]]));
    // Every failure is a crash here, an InputError too: the parameters come from the analysis itself, so DuckDB converts them all.
    const result = await runQuery(db, namedStatement(named.name, wanted)).catch((err: Error) => {
      throw new Error(`named query ${named.name} failed: ${err.message}`);
    });
    for (const format of ['table', 'csv', 'json'] as const) formatResult(result, format, 100);
  }
  for (const [name, write] of [['fuzz-zeek', exportZeek], ['fuzz-ocsf', exportOcsf]] as const) {
    rmSync(join(scratch, name), { recursive: true, force: true });
    await write(db, join(scratch, name));
  }
  // The first flow's packets and its process's, read back from the session file at their offsets.
  for (const selection of [{ flow: given.uid }, { process: given.process_key }]) {
    const pcap = join(scratch, 'fuzz.pcapng');
    rmSync(pcap, { force: true });
    await answered(() => exportPcapng(db, pcap, selection)); // a flow without packets is an InputError
  }
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
