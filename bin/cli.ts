/**
 * The `netprov` command line. Exit codes: 0 success, 1 a problem with the input or the arguments
 * (one line on stderr), 2 an internal error (one line; `--debug` prints the stack).
 */
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { beginLoadEarly } from '../analyzer/load/early-load.js';
import { InputError } from '../recorder/errors.js';
import { STREAM_ADVICE } from '../recorder/input-file.js';
import { projectFile } from '../recorder/project.js';

const { version } = JSON.parse(readFileSync(projectFile('package.json'), 'utf8')) as { version: string };

/** The options whose value may be a lone `-`: standard output. */
const STDOUT_OPTIONS = new Set(['--json', '-o', '--output', '--to']);

/**
 * `--to -` as `--to=-`: yargs-parser reads a long option's lone `-` as an empty value followed by
 * a stray `-` argument (which replay refused as unknown, though `-` is --to's own default).
 */
function dashValuesJoined(args: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith('--') && STDOUT_OPTIONS.has(args[i]) && args[i + 1] === '-') joined.push(`${args[i++]}=-`);
    else joined.push(args[i]);
  }
  return joined;
}

/**
 * A lone `-` given as an input: netprov reads its inputs from files (recorder/input-file.ts says
 * why), and yargs would drop it from a list of inputs without a word (`analyze - x.pcap` analysed
 * x.pcap alone) or hand it over as an empty name.
 */
const readsStandardInput = (args: string[]): boolean => args.some((arg, i) => arg === '-' && !STDOUT_OPTIONS.has(args[i - 1]));

export async function main(given: string[]): Promise<number> {
  const args = dashValuesJoined(given);
  if (readsStandardInput(args)) {
    process.stderr.write(`netprov: -: standard input, not a file: ${STREAM_ADVICE}\n`);
    return 1;
  }
  // Before yargs and the commands load (~0.2 s): the load the command line asks for, or at least
  // its decoding thread, starts meanwhile on the other core (early-load.ts).
  await beginLoadEarly(args);
  if (args[0] === 'import') (await import('../recorder/session/frame-thread.js')).startFrameThreadEarly();
  const [{ default: yargs }, { analyzerCommands }, { queryCommands }, { exportCommands }, { recorderCommands }] = await Promise.all([
    import('yargs'),
    import('../analyzer/cli/commands.js'),
    import('../analyzer/cli/query-commands.js'),
    import('../analyzer/cli/export-commands.js'),
    import('../recorder/cli/commands.js'),
  ]);
  const debug = args.includes('--debug');
  // Everything netprov creates — sessions, databases and their logs, exports, temporary files —
  // holds what the evidence holds: private to the user, whatever creates it (DuckDB included).
  process.umask(0o077);
  // An asynchronous EPIPE arrives as the stream's error event, not as a throw.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  const context = { version, warn: (line: string) => process.stderr.write(`netprov: warning: ${line}\n`) };
  const cli = yargs(args)
    .scriptName('netprov')
    .usage('$0 <command> [options]\n\nWhich process opened each flow, when, and what did it send?')
    .option('debug', { type: 'boolean', default: false, describe: 'print stack traces of errors' })
    .option('salvage', { type: 'boolean', default: false, describe: 'load what is intact of a corrupt session, skipping to the next good chunk (else: exit 1)' })
    .option('force', {
      type: 'boolean',
      default: false,
      describe: 'replace an output that already exists (never one of the inputs, never through a symbolic link)',
    })
    .strict()
    .demandCommand(1, 'name a command (netprov --help lists them)')
    .recommendCommands()
    .version(version)
    .help()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, error) => {
      throw error ?? new InputError(message);
    });
  // yargs lays out the whole help text as each command starts, to have it ready should the
  // command fail; netprov's failures print one line, never the help, and laying it out cost
  // 30-70 ms of every command's start (string widths, measured): only --help lays it out now.
  // getInternalMethods is yargs' own interface between its parts: were it to change, the help
  // would be laid out as before.
  const usage = (cli as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }).getInternalMethods?.().getUsageInstance?.();
  if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => {};
  // yargs commands register on the instance.
  recorderCommands(cli as unknown as Argv, context);
  analyzerCommands(cli as unknown as Argv, context);
  queryCommands(cli as unknown as Argv);
  exportCommands(cli as unknown as Argv);
  try {
    await cli.parseAsync();
    return 0;
  } catch (err) {
    // The reader went away (`netprov flows | head`): it has what it wanted; nothing failed.
    if ((err as NodeJS.ErrnoException)?.code === 'EPIPE') return 0;
    const environment = environmentError(err);
    if (err instanceof InputError || environment) {
      process.stderr.write(`netprov: ${environment ?? (err as Error).message}\n`);
      if (debug) process.stderr.write(`${(err as Error).stack}\n`);
      return 1;
    }
    const error = err as Error;
    process.stderr.write(`netprov: internal error: ${error?.message ?? String(err)}${debug ? `\n${error?.stack}` : ' (rerun with --debug for the stack)'}\n`);
    return 2;
  }
}

/**
 * A failure of the machine rather than of netprov — a full disk, a folder that is missing or not
 * writable, a device error, DuckDB out of memory — from Node or from DuckDB: the user's to fix, so
 * exit 1 with the message (which names the path or the limit), not an internal error.
 */
function environmentError(err: unknown): string | null {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code && ENVIRONMENT_CODES.has(e.code)) return `${e.path ? `${e.path}: ` : ''}${e.code}${e.syscall ? ` (${e.syscall})` : ''}`;
  const first = String(e?.message ?? '').split('\n')[0];
  // DuckDB at its memory_limit with nothing left to spill: the machine's, not a bug (exit 1, with what to change).
  if (/Out of Memory Error/.test(first)) return `${first} (raise NETPROV_MEMORY_MIB, give --db FILE, or free space in the temporary folder DuckDB spills to)`;
  return /No space left on device|Disk quota exceeded|Permission denied|Read-only file system|Input\/output error|No such file or directory/.test(first) ? first : null;
}
const ENVIRONMENT_CODES = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EIO', 'ENOENT', 'ENOTDIR', 'EISDIR', 'EMFILE', 'ENFILE']);

// No top-level await: the bundle is CommonJS (bin/build-bundle.js).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
