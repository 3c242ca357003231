/**
 * What netprov reads must be a file (recorder/input-file.ts): a pipe, standard input, a folder or
 * a device is refused in one line saying what it is, and so is a file given twice.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { netprov } from '../helpers/cli.js';
import { oracleDir, repoRoot, scratch } from '../helpers/paths.js';

describe('an input', () => {
  const cli = join(repoRoot, 'bin/netprov.js');
  const session = join(repoRoot, 'fixtures/http-get.npsession');

  it('is refused at once in one line, not waited on: a FIFO nobody writes to, and process substitution', () => {
    const fifo = join(scratch(), 'capture.pcap');
    execFileSync('mkfifo', [fifo]);
    for (const args of [['analyze', fifo], ['import', fifo, '-o', join(scratch(), 'x.npsession')], ['inspect', fifo], ['flows', fifo]]) {
      const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 });
      expect([run.status, run.stderr]).toEqual([1, `netprov: ${fifo}: a pipe, not a file: netprov reads its inputs by position and more than once; save the stream to a file first (e.g. … > capture.pcap)\n`]);
    }
    // <(cat FILE): a pipe that does give its bytes, once.
    for (const command of ['analyze', 'inspect', 'replay']) {
      const run = spawnSync('bash', ['-c', `"$0" "$1" ${command} <(cat "$2")`, process.execPath, cli, session], { encoding: 'utf8', timeout: 20_000 });
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^netprov: \/dev\/fd\/\d+: a pipe, not a file: .*\n$/);
    }
  });

  it('is refused from standard input, which yargs dropped from a list of inputs without a word', () => {
    const stdin = 'netprov: -: standard input, not a file: netprov reads its inputs by position and more than once; save the stream to a file first (e.g. … > capture.pcap)\n';
    for (const args of [['analyze', '-', session], ['inspect', '-'], ['import', '-', '-o', join(scratch(), 'x.npsession')]]) {
      expect(netprov(args)).toMatchObject({ status: 1, stderr: stdin });
    }
    // `-` as the value of an output option is standard output (replay --to - was refused as an unknown argument).
    const json = netprov(['analyze', session, '--json', '-']);
    expect([json.status, JSON.parse(json.stdout).format]).toEqual([0, 'netprov-analysis']);
    const replayed = netprov(['replay', session, '--to', '-', '--format', 'ndjson', '--speed', 'max']);
    expect(replayed.status, replayed.stderr).toBe(0);
    expect(replayed.stdout.trim().split('\n').length).toBeGreaterThan(10);
  });

  it('is refused in one line naming what it is', () => {
    expect(netprov(['analyze', scratch()]).stderr).toMatch(/: a folder, not a file of a capture or session\n$/);
    expect(netprov(['import', '/dev/null', '-o', join(scratch(), 'x.npsession')]).stderr).toBe('netprov: /dev/null: a device, not a file of a capture or session\n');
  });

  it('given twice, by its name or through a link, is refused: its packets would count twice; a copy is another file', () => {
    const capture = join(oracleDir, 'zeek/http-get.pcap');
    const dir = scratch();
    const link = join(dir, 'link.pcap');
    symlinkSync(capture, link);
    expect(netprov(['analyze', capture, capture])).toMatchObject({ status: 1, stderr: `netprov: ${capture}: given twice; its packets and events would count twice\n` });
    expect(netprov(['import', capture, link, '-o', join(dir, 'x.npsession')])).toMatchObject({ status: 1, stderr: `netprov: ${link}: the same file as ${capture}; its packets and events would count twice\n` });
    expect(netprov(['analyze', session, session]).status).toBe(1);
    const copy = join(dir, 'copy.pcap');
    copyFileSync(capture, copy);
    expect(netprov(['analyze', capture, copy]).stdout).toMatch(/: 28 packets, 1 flows/);
  });
});
