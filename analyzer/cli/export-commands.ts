/**
 * `netprov export`: Parquet for data platforms, Zeek logs for Zeek tooling, pcapng for Wireshark.
 * The exporters load when export runs: the pcapng one brings the session readers, ~60 ms of
 * every command's start-up otherwise.
 */
import type { Argv } from 'yargs';
import { InputError } from '../../recorder/errors.js';
import { writeThrough, type OutputPolicy } from '../../recorder/output-file.js';
import { analyze } from '../analyze.js';
import { openDatabase, type Database } from '../db/database.js';
import { progressBar } from './progress.js';
import { reportData, reportHtml } from '../report/report.js';
import { writeText } from '../query/result.js';

/**
 * The analysis a reading command works on: sessions analysed in memory, or a `--db` database,
 * opened read-only unless `access` says otherwise (`sql --allow-writes`).
 */
export async function sessionsOrDb(
  db: string | undefined, sessions: string[], salvage: boolean, access: 'read-only' | 'read-write' = 'read-only',
): Promise<Database> {
  if (db && sessions.length) throw new InputError('give session files or captures, or --db FILE, not both');
  if (db) return openDatabase(db, access);
  if (!sessions.length) throw new InputError('give session files, captures or --db FILE');
  const bar = progressBar('loading');
  const { db: analysed } = await analyze(sessions, { db: null, salvage, onProgress: bar.update });
  bar.stop();
  return analysed;
}

/** What an output of these commands must not be: an input (a session or the --db file), or replaced without --force. */
export const policyOf = (argv: { sessions?: unknown; db?: string; force?: unknown }): OutputPolicy => ({
  inputs: [...((argv.sessions as string[] | undefined) ?? []), ...(argv.db ? [argv.db] : [])],
  force: argv.force === true,
});

export function exportCommands(cli: Argv): Argv {
  cli.command(
    'report [sessions..]',
    'Write one self-contained HTML report: process tree with flows, timeline, top talkers, DNS names, unattributed flows, losses, search',
    (y) =>
      y
        .positional('sessions', { type: 'string', array: true, default: [], describe: 'session files, or captures (pcap, pcapng, eslogger JSON, gzip of any) analysed straight away' })
        .option('db', { type: 'string', describe: 'DuckDB file written by netprov analyze --db' })
        .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'HTML file to write (created 0600)' })
        .example('$0 report case.npsession -o case.html', 'open case.html in any browser, offline'),
    async (argv) => {
      const db = await sessionsOrDb(argv.db, argv.sessions as string[], argv.salvage as boolean);
      try {
        writeText(argv.output, reportHtml(await reportData(db)), policyOf(argv));
        console.error(`wrote ${argv.output}`);
      } finally {
        db.close();
      }
    },
  );
  return cli.command(
    'export [sessions..]',
    'Export the analysis: Parquet (hive-partitioned by host and day), Zeek conn.log/dns.log, OCSF Network Activity JSON lines, or one flow or process as pcapng',
    (y) =>
      y
        .positional('sessions', { type: 'string', array: true, default: [], describe: 'session files, or captures (pcap, pcapng, eslogger JSON, gzip of any) analysed straight away' })
        .option('db', { type: 'string', describe: 'DuckDB file written by netprov analyze --db' })
        .option('parquet', { type: 'string', describe: 'folder for every table as Parquet: TABLE/host=H/day=D/*.parquet' })
        .option('zeek', { type: 'string', describe: 'folder for conn.log and dns.log' })
        .option('ocsf', { type: 'string', describe: 'folder for network_activity.jsonl: every flow as an OCSF 1.3 Network Activity event (class 4001)' })
        .option('pcap', { type: 'string', describe: 'pcapng file for the packets of --flow or --process' })
        .option('flow', { type: 'string', describe: 'with --pcap: a flow uid' })
        .option('process', { type: 'string', describe: 'with --pcap: a process key (all its flows)' })
        .example('$0 export case.npsession --parquet lake/', 'then: duckdb -c "FROM read_parquet(\'lake/flows/**/*.parquet\', hive_partitioning=true)"')
        .example('$0 export case.npsession --pcap curl.pcapng --process 4242.21', 'what one process sent, for Wireshark'),
    async (argv) => {
      if (!argv.parquet && !argv.zeek && !argv.ocsf && !argv.pcap) throw new InputError('export: name at least one of --parquet DIR, --zeek DIR, --ocsf DIR, --pcap FILE');
      if ((argv.flow || argv.process) && !argv.pcap) throw new InputError('export: --flow and --process go with --pcap FILE');
      const [{ exportParquet }, { exportZeek }, { exportOcsf }, { exportPcapng }] = await Promise.all([
        import('../export/parquet.js'), import('../export/zeek-logs.js'), import('../export/ocsf.js'), import('../export/pcapng.js'),
      ]);
      const db = await sessionsOrDb(argv.db, argv.sessions as string[], argv.salvage as boolean);
      const policy = policyOf(argv);
      try {
        // Each output is written under a temporary name beside it and renamed into place whole.
        if (argv.parquet) {
          const bar = progressBar('parquet');
          const counts = await writeThrough(argv.parquet, policy, 'folder', (folder) => exportParquet(db, folder, (_table, done, total) => bar.update(done, total)));
          bar.stop();
          console.log(`wrote ${argv.parquet}: ${Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(', ')}`);
        }
        if (argv.zeek) {
          const { conn, dns } = await writeThrough(argv.zeek, policy, 'folder', (folder) => exportZeek(db, folder));
          console.log(`wrote ${argv.zeek}: conn.log ${conn} rows, dns.log ${dns} rows`);
        }
        if (argv.ocsf) {
          const events = await writeThrough(argv.ocsf, policy, 'folder', (folder) => exportOcsf(db, folder));
          console.log(`wrote ${argv.ocsf}: network_activity.jsonl ${events} events`);
        }
        if (argv.pcap) {
          const n = await writeThrough(argv.pcap, policy, 'file', (file) => exportPcapng(db, file, { flow: argv.flow, process: argv.process }));
          console.log(`wrote ${argv.pcap}: ${n} packets`);
        }
      } finally {
        db.close();
      }
    },
  );
}
