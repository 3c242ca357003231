/** The recorder's commands: import and inspect. */
import type { Argv } from 'yargs';
import { InputError } from '../errors.js';
import { importFiles } from '../import/index.js';
import { inspect, type Inspection } from '../inspect.js';
import { kindNames } from '../session/events.js';
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
      (argv) => {
        const result = importFiles(argv.files as string[], argv.output, { host: argv.host, version: context.version });
        for (const warning of result.warnings) context.warn(warning);
        console.log(`wrote ${result.output}: ${result.events} events from ${result.inputs.length} input(s)`);
        console.log(table(result.inputs.map((i) => [i.file, i.description])));
      },
    )
    .command(
      'inspect <session>',
      'Show what a session holds: header, time range, events per kind, losses, chunks good and bad',
      (y) =>
        y
          .positional('session', { type: 'string', demandOption: true })
          .option('json', { type: 'boolean', default: false, describe: 'print the inspection as JSON' })
          .option('salvage', { type: 'boolean', default: false, describe: 'skip corrupt chunks and read on' })
          .example('$0 inspect fixtures/http-get.npsession --json', 'machine-readable summary'),
      (argv) => {
        const result = inspect(argv.session, argv.salvage);
        console.log(argv.json ? toJson(result) : describeInspection(result));
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
