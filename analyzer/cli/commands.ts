/** The analyzer's commands: analyze and flows. */
import type { Argv } from 'yargs';
import type { Database } from '../db/database.js';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { FlowRecord } from '../output/conn-log.js';
import { table } from '../../recorder/cli/output.js';
import type { CommandContext } from '../../recorder/cli/commands.js';
import { InputError } from '../../recorder/errors.js';
import { writeOutputFile, writeThrough } from '../../recorder/output-file.js';

/**
 * What the commands run, loaded when one of them runs: every command registers here, and the
 * others (`import`, `inspect`, ...) would load the analyzer and DuckDB for nothing (~30 ms of
 * their start-up, measured).
 */
const implementation = async () => {
  const [analysis, database, connLog, progress] = await Promise.all([import('../analyze.js'), import('../db/database.js'), import('../output/conn-log.js'), import('./progress.js')]);
  return { ...analysis, ...database, ...connLog, ...progress };
};

/**
 * What keeps an analysis's memory bounded whatever the input's size: database.ts
 * MEMORY_LIMITS_MIB and tracker.ts MAX_OPEN_CONNECTIONS, stated here without loading either
 * module at start-up (recorder-cli.test.ts holds the numbers to theirs).
 */
const MEMORY_BOUNDS =
  "Memory stays bounded whatever the input's size. DuckDB's memory limit is 1,408 MiB in memory, 384 MiB with --db, " +
  "or a sixth of the machine's RAM if less (NETPROV_MEMORY_MIB sets it); past it DuckDB spills to a private " +
  'folder in the temporary directory, removed at exit. At most 262,144 connections are tracked at once: past that, one ' +
  "is retired before another opens (one Zeek's timers have expired, else one idle for a while), a warning counts them, " +
  'and a later packet of one starts a new flow.';

export function analyzerCommands(cli: Argv, context: CommandContext): Argv {
  return cli
    .command(
      'analyze <inputs..>',
      'Load sessions or captures into DuckDB: flows (Zeek conn.log semantics), processes, attribution, DNS; print who opened what',
      (y) =>
        y
          .positional('inputs', {
            type: 'string', array: true, demandOption: true,
            describe: 'session files, and captures (pcap, pcapng, eslogger JSON, gzip of any): the captures together make one session, streamed without a session file',
          })
          .option('db', { type: 'string', describe: 'DuckDB file to create or add to (default: in memory, spilling to a private temporary folder past the memory limit; packet rows stay there as Parquet files, ~85 bytes a packet, removed at exit)' })
          .option('save', { type: 'string', describe: 'also write the captures\' merged session to this file, as `netprov import` would' })
          .option('json', { type: 'string', describe: 'write the whole analysis as deterministic JSON to this file (- for stdout)' })
          .option('verify-checksums', {
            type: 'boolean',
            default: false,
            describe: 'drop packets with a bad IPv4 header checksum and mark bad TCP/UDP checksums (history C), as Zeek without -C; off because host captures carry checksums the NIC fills in later',
          })
          .option('limit', { type: 'number', default: 50, describe: 'flows to list on the terminal (0 = all)' })
          .epilogue(MEMORY_BOUNDS)
          .example('$0 analyze fixtures/http-get.npsession', 'the flows of a bundled session and the processes that opened them')
          .example('$0 analyze capture.pcap.gz eslogger.json --save case.npsession', 'straight from captures, keeping their session')
          .example('$0 analyze s1.npsession s2.npsession --db case.duckdb', 'keep the analysis for `netprov flows --db` and SQL'),
      async (argv) => {
        const { analysisJson, analyze, checkDatabaseOutput, flowRecords, progressBar } = await implementation();
        const sessions = argv.inputs as string[];
        const force = argv.force as boolean;
        // The JSON must not land on an input, the database or the saved session either.
        const jsonPolicy = { inputs: [...sessions, ...(argv.db ? [argv.db] : []), ...(argv.save ? [argv.save] : [])], force };
        const analyseInto = async (dbPath: string | null, save?: { temporary: string; name: string }) => {
          const bar = progressBar('loading');
          // yargs hands a lone "-" over as an empty string.
          const toStdout = argv.json === '-' || argv.json === '';
          // Every query first, then the outputs: a query that fails (DuckDB out of memory)
          // leaves no JSON file behind it.
          const { db, results, warnings, first: shown } = await analyze(
            sessions,
            { db: dbPath, save, salvage: argv.salvage as boolean, verifyChecksums: argv.verifyChecksums, onProgress: bar.update },
            async (analysed) => (toStdout ? [] : await flowRecords(analysed, null, argv.limit > 0 ? argv.limit : null)),
          );
          bar.stop();
          try {
            for (const warning of warnings) context.warn(warning);
            for (const r of results) {
              for (const p of r.problems) context.warn(p);
              for (const { reason, packets } of r.undissected) context.warn(`${r.file}: ${packets.toLocaleString('en-US')} packets not dissected: ${reason}`);
              if (r.truncatedAt !== null) context.warn(`${r.file}: ends inside the frame at offset ${r.truncatedAt}; everything before it was loaded`);
            }
            if (argv.json !== undefined) {
              const json = await analysisJson(db);
              if (toStdout) process.stdout.write(json);
              else writeOutputFile(argv.json, json, jsonPolicy);
            }
            if (!toStdout) {
              const total = results.reduce((sum, r) => sum + r.flows, 0);
              for (const r of results) console.log(`${r.file}: ${r.packets} packets, ${r.flows} flows, ${r.events} events`);
              console.log('');
              console.log(flowTable(shown));
              if (shown.length < total) console.log(`… ${total - shown.length} more (netprov flows for all)`);
            }
          } finally {
            db.close();
          }
          // A new file is renamed out of its temporary folder alone: a log left beside it would stay behind, and its rows with it (analyze.ts).
          if (dbPath !== null && !db.inPlace && existsSync(`${dbPath}.wal`)) {
            throw new InputError(`${argv.db}: DuckDB could not write the whole analysis into the file (its write-ahead log remained at close); nothing was written`);
          }
        };
        // A new database is built under a temporary name and renamed into place once closed; an
        // existing one is added to in place (DuckDB's transactions keep it whole). A saved
        // session, likewise, appears only once the whole analysis has succeeded.
        const inDb = (save?: { temporary: string; name: string }) => {
          if (!argv.db) return analyseInto(null, save);
          const policy = { inputs: [...sessions, ...(argv.save ? [argv.save] : [])], force };
          if (checkDatabaseOutput(argv.db, policy) === 'existing') return analyseInto(argv.db, save);
          return writeThrough(argv.db, policy, 'file', (temporary) => analyseInto(temporary, save));
        };
        const savePath = argv.save;
        if (savePath === undefined) await inDb();
        else await writeThrough(savePath, { inputs: [...sessions, ...(argv.db ? [argv.db] : [])], force }, 'file', (temporary) => inDb({ temporary, name: savePath }));
      },
    )
    .command(
      'verify [dir]',
      'Re-analyse every session in a folder and compare with its .expected.json (CI uses this on fixtures/)',
      (y) =>
        y
          .positional('dir', { type: 'string', default: 'fixtures', describe: 'folder of NAME.npsession + NAME.expected.json' })
          .option('update', { type: 'boolean', default: false, describe: 'rewrite the expected files (after reviewing the change)' })
          .example('$0 verify', 'check the bundled fixtures')
          .example('$0 verify fixtures --update', 'accept the current analysis as expected'),
      async (argv) => {
        const { verifyFixtures } = await import('../verify.js');
        const outcomes = await verifyFixtures(argv.dir, argv.update);
        for (const o of outcomes) {
          console.log(`${o.status.padEnd(9)} ${o.session}`);
          for (const line of o.diff) console.log(`  ${line}`);
        }
        const bad = outcomes.filter((o) => o.status === 'different' || o.status === 'missing');
        if (bad.length) throw new InputError(`verify: ${bad.length} of ${outcomes.length} sessions differ from their expected analysis`);
      },
    )
    .command(
      'flows [inputs..]',
      'Print flows with their process: table, csv, json lines (Zeek names + attribution) or a Zeek conn.log',
      (y) =>
        y
          .positional('inputs', { type: 'string', array: true, default: [], describe: 'session files or captures (or use --db)' })
          .option('db', { type: 'string', describe: 'DuckDB file written by netprov analyze --db' })
          .option('format', { choices: ['table', 'csv', 'json', 'zeek'] as const, default: undefined, describe: 'default: table on a terminal, json otherwise' })
          .example('$0 flows capture.npsession --format zeek > conn.log', 'a conn.log that Zeek tooling reads')
          .example('$0 flows --db case.duckdb --format json | jq .exe', 'which executables talked'),
      async (argv) => {
        const inputs = argv.inputs as string[];
        if ((inputs.length === 0) === !argv.db) throw new InputError('flows: give session files or captures, or --db FILE (one of them)');
        const { analyze, flowRecordChunks, flowRecords, jsonLines, openDatabase, zeekConnLogParts } = await implementation();
        let db: Database;
        if (argv.db) db = await openDatabase(argv.db, 'read-only');
        else db = (await analyze(inputs, { db: null, salvage: argv.salvage as boolean })).db;
        try {
          const format = argv.format ?? (process.stdout.isTTY ? 'table' : 'json');
          // A terminal table needs every row for its widths; the other formats stream.
          if (format === 'table') console.log(flowTable(await flowRecords(db)));
          else {
            if (format === 'zeek') await write(zeekConnLogParts.header(new Date(0)));
            let first = true;
            for await (const records of flowRecordChunks(db)) {
              if (format === 'zeek') await write(zeekConnLogParts.rows(records));
              else if (format === 'json') await write(jsonLines(records));
              else {
                await write(csv(records, first));
                first = false;
              }
            }
            if (format === 'zeek') await write(zeekConnLogParts.footer(new Date(0)));
            else if (format === 'csv' && first) await write(csv([], true));
          }
        } finally {
          db.close();
        }
      },
    );
}

const TABLE_COLUMNS = ['ts', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'conn_state', 'history', 'orig_bytes', 'resp_bytes', 'pid', 'exe', 'attribution_method', 'dns_name', 'server_name'];

/** A container as the table shows it: runtime and the id's first 12 hex digits, as `docker ps` does. */
const containerText = (r: FlowRecord) => (r.container_id ? `${r.container_runtime}:${String(r.container_id).slice(0, 12)}` : null);

function flowTable(records: FlowRecord[]): string {
  if (records.length === 0) return 'no flows';
  // The container column only when a flow ran in one: most sessions have none.
  const columns = records.some((r) => r.container_id) ? [...TABLE_COLUMNS.slice(0, -2), 'container', ...TABLE_COLUMNS.slice(-2)] : TABLE_COLUMNS;
  const cell = (r: FlowRecord, c: string) =>
    c === 'exe' && r.exe === null ? `(${String(r.unattributed_reason ?? '').split(':')[0]})` : c === 'container' ? containerText(r) : r[c] === null ? null : (r[c] as string | number);
  return table(records.map((r) => columns.map((c) => cell(r, c))), columns);
}

/** CSV rows, after the header line when `withHeader`. */
function csv(records: FlowRecord[], withHeader: boolean): string {
  const columns = Object.keys(records[0] ?? { ts: '' });
  const cell = (v: FlowRecord[string]) => {
    const text = v === null ? '' : Array.isArray(v) ? v.join(' ') : String(v);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = records.map((r) => columns.map((c) => cell(r[c])).join(','));
  if (withHeader) lines.unshift(columns.join(','));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Writes to stdout, waiting while a slow reader has not taken what came before (memory stays one chunk). */
async function write(text: string): Promise<void> {
  if (text && !process.stdout.write(text)) await once(process.stdout, 'drain');
}


