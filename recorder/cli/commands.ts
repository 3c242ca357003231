/**
 * The recorder's commands: import, inspect, replay and record. A command loads the readers and
 * msgpackr when it runs (`await import`): loaded for every command, they cost each one's start-up
 * ~0.1 s, measured.
 */
import type { Argv } from 'yargs';
import { InputError } from '../errors.js';
import type { Inspection } from '../inspect.js';
import { kindNames, type KindName } from '../session/events.js';
import { FileSink } from '../session/sink.js';
import { checkInPlace, writeThrough } from '../output-file.js';
import { recordStream } from '../record.js';
import { startSensor, type SensorCounts, type SensorOptions } from '../sensor.js';
import { StreamSink, connect, serveOnce } from '../stream/socket.js';
import { table, toJson } from './output.js';

export interface CommandContext {
  version: string;
  /** Lines for stderr that are warnings, not errors. */
  warn(line: string): void;
}

export function recorderCommands(cli: Argv, context: CommandContext): Argv {
  return cli
    .command(
      'import <files..>',
      'Import pcap, pcapng and eslogger JSON files (detected from content, gzip allowed) into one session, merged in time order',
      (y) =>
        y
          .positional('files', { type: 'string', array: true, demandOption: true, describe: 'input files' })
          .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'session file to write (created 0600)' })
          .option('host', { type: 'string', default: 'unknown', describe: 'host name to record in the session header' })
          .example('$0 import capture.pcapng eslogger.json -o incident.npsession', 'merge a capture and an ES log into one session'),
      async (argv) => {
        const { importFiles } = await import('../import/index.js');
        const result = importFiles(argv.files as string[], argv.output, { host: argv.host, version: context.version, force: argv.force as boolean });
        for (const warning of result.warnings) context.warn(warning);
        console.log(`wrote ${result.output}: ${result.events} events from ${result.inputs.length} input(s)`);
        // Rotated captures can be thousands of inputs: the first few, then how many more.
        const shown = result.inputs.length > 20 ? result.inputs.slice(0, 10) : result.inputs;
        console.log(table(shown.map((i) => [i.file, i.description])));
        if (shown.length < result.inputs.length) console.log(`… ${result.inputs.length - shown.length} more inputs (netprov inspect ${argv.output} names them all)`);
      },
    )
    .command(
      'replay <session>',
      'Replay a session\'s events in order at the recorded pace (or faster), as session frames or JSON lines',
      (y) =>
        y
          .positional('session', { type: 'string', demandOption: true })
          .option('speed', { type: 'string', default: '1', describe: 'multiple of real time, or max' })
          .option('to', { type: 'string', default: '-', describe: '- (stdout), unix:PATH (serve one recorder), or a file' })
          .option('format', { choices: ['msgpack', 'ndjson'] as const, default: 'msgpack' as const, describe: 'session frames, or one JSON object per event' })
          .option('from', { type: 'string', describe: 'start: seconds since the session start, or an ISO time' })
          .option('until', { type: 'string', describe: 'end: seconds since the session start, or an ISO time' })
          .option('kinds', { type: 'string', describe: `event kinds, comma-separated (${kindNames.join(',')})` })
          .example('$0 replay case.npsession --to unix:/tmp/np.sock --speed 10', 'feed a consumer ten times faster than recorded')
          .example('$0 replay case.npsession --format ndjson --kinds exec,flowOpen --speed max', 'the process and socket events as JSON lines'),
      async (argv) => {
        const speed = argv.speed === 'max' ? 'max' : Number(argv.speed);
        if (speed !== 'max' && !(speed > 0)) throw new InputError(`--speed ${argv.speed}: a positive number or max`);
        const [{ SessionReader }, { replay }] = await Promise.all([import('../session/reader.js'), import('../replay/replay.js')]);
        const header = SessionReader.open(argv.session).header;
        const kinds = argv.kinds ? new Set(argv.kinds.split(',').map((k) => k.trim())) : undefined;
        for (const k of kinds ?? []) if (!(kindNames as readonly string[]).includes(k)) throw new InputError(`--kinds: no event kind ${k} (kinds: ${kindNames.join(', ')})`);
        const filter = { from: sessionTime(argv.from, header.startNs, '--from'), until: sessionTime(argv.until, header.startNs, '--until'), kinds: kinds as Set<KindName> | undefined };
        const options = { speed, format: argv.format, filter } as const;
        if (argv.to.startsWith('unix:')) {
          const path = argv.to.slice(5);
          const { socket, close } = await serveOnce(path);
          try {
            await replay(argv.session, new StreamSink(socket), options);
          } finally {
            close();
          }
        } else if (argv.to === '-') {
          await replay(argv.session, new StreamSink(process.stdout, false), options);
        } else {
          const to = argv.to;
          await writeThrough(to, { inputs: [argv.session], force: argv.force as boolean }, 'file', (temporary) => replay(argv.session, new FileSink(temporary, to), options));
        }
      },
    )
    .command(
      'record',
      'Record a session from this machine\'s sensor (Linux: eBPF + packet rings, as root), or from a stream a replay serves, until SIGINT/SIGTERM, --duration or the stream\'s end',
      (y) =>
        y
          .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'session file to write (created 0600)' })
          .option('interface', { alias: 'i', type: 'string', array: true, default: [] as string[], describe: 'interface to capture (repeatable); default: every interface' })
          .option('duration', { type: 'number', describe: 'stop after this many seconds' })
          .option('snaplen', { type: 'number', describe: 'bytes kept of each packet (sensor default 65535)' })
          .option('source', { type: 'string', describe: 'unix:PATH: record a served stream instead of the sensor; sysex: the macOS system extension (the default there)' })
          .example('$0 record -o case.npsession -i eth0 --duration 60', 'a minute of eth0 and every process on the machine')
          .example('$0 record --source unix:/tmp/np.sock -o copy.npsession', 'record what a replay serves'),
      async (argv) => {
        if (argv.source === 'sysex' && process.platform !== 'darwin') throw new InputError('--source sysex: the macOS system extension; on Linux the sensor is the default source');
        // The session is written in place — a partial file is what a killed recording must leave —
        // after the same checks every output takes.
        const replace = checkInPlace(argv.output, { inputs: [], force: argv.force as boolean });
        if (argv.source && argv.source !== 'sysex') await recordServedStream(argv.source, argv.output, replace);
        else await recordSensor(argv.output, { interfaces: argv.interface, durationSeconds: argv.duration, snaplen: argv.snaplen }, replace);
      },
    )
    .command(
      'inspect <session>',
      'Show what a session holds: header, time range, events per kind, losses, chunks good and bad',
      (y) =>
        y
          .positional('session', { type: 'string', demandOption: true })
          .option('json', { type: 'boolean', default: false, describe: 'print the inspection as JSON' })
          .example('$0 inspect fixtures/http-get.npsession --json', 'machine-readable summary'),
      async (argv) => {
        const { inspect } = await import('../inspect.js');
        const result = inspect(argv.session, argv.salvage as boolean);
        console.log(argv.json ? toJson(result) : describeInspection(result));
        for (const line of result.undissected) context.warn(`${result.file}: ${line}`);
        if (result.truncatedAt !== null) {
          context.warn(`${result.file}: ends inside the frame at offset ${result.truncatedAt} (recording cut short); everything before it was read`);
        } else if (!result.complete && result.stoppedAt === null) {
          context.warn(`${result.file}: no trailer (the recorder did not close the session); every frame present was read`);
        }
        if (result.chunks.bad > 0 || result.badEvents > 0) {
          const first = result.problems[0];
          const tail = result.stoppedAt !== null ? '; nothing after it was read (rerun with --salvage to skip to the next good chunk)' : '';
          throw new InputError(`${result.file}: corrupt at offset ${first.offset} (${first.message})${tail}`);
        }
      },
    );
}

/** "--from 12.5" (seconds since the session start) or "--from 2024-05-01T10:00:02Z" -> session ns. */
function sessionTime(text: string | undefined, startNs: bigint, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1e9);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new InputError(`${flag} ${text}: seconds since the session start, or an ISO time`);
  return Number(BigInt(ms) * 1_000_000n - startNs);
}

function describeInspection(r: Inspection): string {
  const h = r.header;
  const lines = [
    `session   ${h.sessionId}  (format ${h.version.join('.')})`,
    `file      ${r.file}  ${r.bytes} bytes`,
    `host      ${h.host}`,
    `sensor    ${h.sensor.name} ${h.sensor.version}`,
    `start     ${h.start}  (${h.startNs} ns)`,
    `events    ${r.first ?? '-'} .. ${r.last ?? '-'}`,
    `clock     ${h.clockNotes || '-'}`,
    `chunks    ${r.chunks.good} good, ${r.chunks.bad} bad${r.complete ? '' : ', no trailer'}`,
    '',
    table(
      kindNames.filter((k) => r.counts[k]).map((k) => [k, r.counts[k]!]),
      ['kind', 'events'],
    ),
  ];
  const unknown = Object.entries(r.unknownKinds);
  if (unknown.length) lines.push('', `skipped unknown kinds: ${unknown.map(([k, n]) => `${k} (${n})`).join(', ')}`);
  lines.push('', r.losses.length ? table(r.losses.map((l) => [l.source, l.count, l.reason]), ['loss source', 'count', 'reason']) : 'losses    none');
  if (r.problems.length) lines.push('', table(r.problems.map((p) => [p.offset, p.message]), ['offset', 'problem']));
  return lines.join('\n');
}

async function recordServedStream(source: string, output: string, replace: boolean): Promise<void> {
  if (!source.startsWith('unix:')) throw new InputError(`--source ${source}: expected unix:PATH`);
  const socket = await connect(source.slice(5));
  const stop = new AbortController();
  const summary = await untilSignal(
    () => {
      stop.abort();
      socket.destroy();
    },
    () => recordStream(socket, output, source, stop.signal, undefined, replace),
  );
  console.log(`wrote ${output}: ${summary.events} events in ${summary.frames} frames${summary.complete ? '' : ' (stream ended without a trailer)'}`);
}

async function recordSensor(output: string, options: SensorOptions, replace: boolean): Promise<void> {
  const sensor = startSensor(options);
  // The session file is created only once the sensor runs: a refusal leaves nothing behind.
  await sensor.ready;
  const where = options.interfaces.length ? options.interfaces.join(', ') : 'every interface';
  process.stderr.write(`netprov: recording ${where} and every process to ${output} (SIGINT to stop)\n`);
  const status = new StatusLine(sensor.counts);
  let written = 0;
  // On SIGINT/SIGTERM the sensor drains its rings and writes its trailer; the stream ends after it.
  const recording = untilSignal(sensor.stop, () => recordStream(sensor.stream, output, 'sensor', undefined, (s) => (written = s.bytes), replace)).catch((err) => {
    sensor.stop(); // the file failed: nothing more can be kept, so the sensor ends too
    throw err;
  });
  status.start(() => written);
  const [summary] = await Promise.all([recording, sensor.exited]).finally(() => status.end());
  const lost = sensor.counts().lost;
  console.log(
    `wrote ${output}: ${summary.events} events in ${summary.frames} frames, ${summary.bytes} bytes` +
      `${lost ? `, ${lost} events lost (see netprov inspect)` : ''}${summary.complete ? '' : ' (the sensor ended without a trailer)'}`,
  );
}

async function untilSignal<T>(onSignal: () => void, run: () => Promise<T>): Promise<T> {
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await run();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The kinds a user watches while recording, in the order shown. */
const LIVE_KINDS: readonly KindName[] = ['packet', 'flowOpen', 'flowClose', 'exec', 'fork', 'exit'];

/** Events/s of each kind, losses and bytes written on one rewritten stderr line, on a terminal only, once a second. */
class StatusLine {
  private timer: NodeJS.Timeout | null = null;
  private previous: SensorCounts;
  private previousAt = Date.now();

  constructor(private readonly counts: () => SensorCounts) {
    this.previous = counts();
  }

  start(written: () => number): void {
    if (!process.stderr.isTTY) return;
    this.timer = setInterval(() => process.stderr.write(`\r${this.line(written())}   `), 1000);
  }

  line(written: number): string {
    const now = Date.now();
    const current = this.counts();
    const seconds = (now - this.previousAt) / 1000;
    const rates = LIVE_KINDS.map((kind) => `${kind} ${Math.round(((current.events[kind] ?? 0) - (this.previous.events[kind] ?? 0)) / seconds)}/s`);
    this.previous = current;
    this.previousAt = now;
    return `${rates.join('  ')}  | lost ${current.lost} | ${(written / 2 ** 20).toFixed(1)} MiB written`;
  }

  end(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    process.stderr.write('\n');
  }
}
