import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTrafficPcap } from '../bench/traffic.js';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';

describe('output into a pipe closed early', () => {
  it('ends quietly with exit 0, as `netprov flows | head` should', () => {
    const pcap = join(scratch(), 'traffic.pcap');
    // Far more flow lines than a pipe buffers, so that writes fail once head has gone.
    writeTrafficPcap(pcap, { packets: 20_000, concurrentFlows: 500, snapLen: 96 });
    const run = spawnSync('bash', ['-c', 'set -o pipefail; "$0" "$1" flows "$2" --format json | head -c 100 > /dev/null', process.execPath, join(repoRoot, 'bin/netprov.js'), pcap], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 60_000);
});

describe('input from a pipe, a folder or a device', () => {
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
    // `-` as the value of an output option is standard output, as before.
    const json = netprov(['analyze', session, '--json', '-']);
    expect([json.status, JSON.parse(json.stdout).format]).toEqual([0, 'netprov-analysis']);
  });

  it('is refused in one line naming what it is', () => {
    expect(netprov(['analyze', scratch()]).stderr).toMatch(/: a folder, not a file of a capture or session\n$/);
    expect(netprov(['import', '/dev/null', '-o', join(scratch(), 'x.npsession')]).stderr).toBe('netprov: /dev/null: a device, not a file of a capture or session\n');
  });
});
