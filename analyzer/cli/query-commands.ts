/** `netprov query` (the named library) and `netprov sql` (any SQL) over the analysis model. */
import type { Argv } from 'yargs';
import { InputError } from '../../recorder/errors.js';
import type { Database } from '../db/database.js';
import { policyOf, sessionsOrDb } from './export-commands.js';
import { writeThrough, type OutputPolicy } from '../../recorder/output-file.js';
import { confine } from '../db/database.js';
import { namedStatement, queryLibrary, run, sqlStatement, writeParquet, type Statement } from '../query/library.js';
import { formatResult, writeText, type Format } from '../query/result.js';

const FORMATS = ['table', 'csv', 'json', 'ndjson', 'parquet'] as const;


/**
 * Runs a statement confined to the analysis (database.ts `confine`) unless --allow-files, and
 * writes its result. A Parquet file is the one path the statement may write: its temporary name.
 */
async function output(db: Database, statement: Statement, format: Format | undefined, out: string | undefined, policy: OutputPolicy, allowFiles: boolean): Promise<void> {
  const chosen = format ?? (out?.endsWith('.parquet') ? 'parquet' : process.stdout.isTTY && !out ? 'table' : 'csv');
  if (chosen === 'parquet') {
    if (!out || out === '-') throw new InputError('--format parquet needs -o FILE');
    await writeThrough(out, policy, 'file', async (file) => {
      await confine(db, allowFiles ? null : [file]);
      await writeParquet(db, statement, file);
    });
    return;
  }
  await confine(db, allowFiles ? null : []);
  const result = await run(db, statement);
  writeText(out, formatResult(result, chosen, out ? 0 : process.stdout.columns || 0), policy);
}

const CONFINEMENT = 'SQL runs confined to the analysis: no file outside it is read or written, no extension installed or loaded, ' +
  'no database attached, a --db opened read-only, the configuration locked.';

export function queryCommands(cli: Argv): Argv {
  return cli
    .command(
      'query [name] [sessions..]',
      'Run a named forensic query from queries/ (--list shows them) on sessions or on a --db FILE',
      (y) =>
        y
          .positional('name', { type: 'string', describe: 'query name' })
          .positional('sessions', { type: 'string', array: true, default: [], describe: 'session files, or captures (pcap, pcapng, eslogger JSON, gzip of any) analysed straight away' })
          .option('list', { type: 'boolean', default: false, describe: 'list the queries with their parameters' })
          .option('param', { alias: 'p', type: 'string', nargs: 1, describe: 'a parameter, name=value (repeat for more)' })
          .option('db', { type: 'string', describe: 'DuckDB file written by netprov analyze --db' })
          .option('format', { alias: 'f', choices: FORMATS, describe: 'default: table on a terminal, csv otherwise; parquet needs -o' })
          .option('output', { alias: 'o', type: 'string', describe: 'write to this file (created 0600)' })
          .epilogue(CONFINEMENT)
          .example('$0 query --list', 'the questions netprov answers')
          .example('$0 query who-talked-to --param target=example.com case.npsession', 'processes that reached example.com'),
      async (argv) => {
        if (argv.list || !argv.name) {
          for (const q of queryLibrary()) {
            console.log(`${q.name}\n  ${q.question}`);
            for (const p of q.params) console.log(`  --param ${p.name}=${p.type}${p.default === undefined ? ' (required)' : ` (default ${p.default})`}  ${p.description}`);
          }
          return;
        }
        const params: Record<string, string> = {};
        for (const pair of ([] as string[]).concat(argv.param ?? [])) {
          const at = pair.indexOf('=');
          if (at <= 0) throw new InputError(`--param ${pair}: expected name=value`);
          params[pair.slice(0, at)] = pair.slice(at + 1);
        }
        const statement = namedStatement(argv.name, params);
        const db = await sessionsOrDb(argv.db, argv.sessions as string[], argv.salvage as boolean);
        try {
          await output(db, statement, argv.format, argv.output, policyOf(argv), false);
        } finally {
          db.close();
        }
      },
    )
    .command(
      'sql <statement> [sessions..]',
      'Run any SQL against the analysis model (tables and views of analyzer/schema.sql and views.sql)',
      (y) =>
        y
          .positional('statement', { type: 'string', demandOption: true })
          .positional('sessions', { type: 'string', array: true, default: [], describe: 'session files, or captures (pcap, pcapng, eslogger JSON, gzip of any) analysed straight away' })
          .option('db', { type: 'string', describe: 'DuckDB file written by netprov analyze --db' })
          .option('format', { alias: 'f', choices: FORMATS, describe: 'default: table on a terminal, csv otherwise; parquet needs -o' })
          .option('output', { alias: 'o', type: 'string', describe: 'write to this file (created 0600)' })
          .option('allow-writes', { type: 'boolean', default: false, describe: 'open a --db read-write, so that the statement can change it' })
          .option('allow-files', { type: 'boolean', default: false, describe: 'let the statement read and write files (COPY, read_csv, ATTACH ...)' })
          .epilogue(`${CONFINEMENT} --allow-writes and --allow-files lift the first two; extensions stay off.`)
          .example('$0 sql "SELECT exe, count(*) FROM flow_details GROUP BY ALL" case.npsession', 'flows per executable'),
      async (argv) => {
        const db = await sessionsOrDb(argv.db, argv.sessions as string[], argv.salvage as boolean, argv.allowWrites ? 'read-write' : 'read-only');
        try {
          await output(db, sqlStatement(argv.statement), argv.format, argv.output, policyOf(argv), argv.allowFiles);
        } finally {
          db.close();
        }
      },
    );
}
