/**
 * `netprov record` driving the Linux sensor (root): a live recording in a network namespace this
 * test makes, stopped by SIGINT as a user would; and the one-line refusals a user gets when the
 * sensor cannot run.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query } from '../../analyzer/db/database.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { netprov } from '../helpers/cli.js';
import { addNetns, inNs as inNsOf, waitFor } from '../helpers/netns.js';
import { repoRoot, scratch } from '../helpers/paths.js';

const ns = `np-rec-${randomBytes(3).toString('hex')}`;
const inNs = (command: string[]) => inNsOf(ns, command);
const PORT = 18090;

beforeAll(() => {
  execFileSync('make', ['-s', '-C', join(repoRoot, 'sysex/linux')], { stdio: 'inherit' });
  addNetns(ns);
}, 120_000);

afterAll(() => {
  spawnSync('ip', ['netns', 'del', ns]);
});

describe('netprov record (Linux sensor)', () => {
  it('records until SIGINT, closes the session with its trailer, and the flow is attributed', async () => {
    const output = join(scratch(), 'live.npsession');
    const recorder = spawn('ip', inNs([process.execPath, join(repoRoot, 'bin/netprov.js'), 'record', '-o', output]));
    let stderr = '';
    let stdout = '';
    recorder.stdout.on('data', (d: Buffer) => (stdout += d));
    recorder.stderr.on('data', (d: Buffer) => (stderr += d));
    await waitFor(recorder, 'recording');
    expect(stderr).toBe(`netprov: recording every interface and every process to ${output} (SIGINT to stop)\n`);

    const server = spawn('ip', inNs([process.execPath, '-e', `require('node:http').createServer((q, r) => r.end('ok')).listen(${PORT}, '127.0.0.1', () => console.log('up'))`]));
    await waitFor(server, 'up');
    const curl = spawnSync('ip', inNs(['curl', '-s', `http://127.0.0.1:${PORT}/`]), { encoding: 'utf8' });
    expect(curl.stdout).toBe('ok');
    server.kill();

    recorder.kill('SIGINT');
    const code = await new Promise((resolve) => recorder.once('close', resolve));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^wrote .*live\.npsession: \d+ events in \d+ frames, \d+ bytes\n$/);
    expect(statSync(output).mode & 0o777).toBe(0o600);
    const reader = SessionReader.open(output);
    for (const _ of reader.events());
    expect([reader.report.chunksBad, reader.report.truncatedAt, reader.report.trailer === null]).toEqual([0, null, false]);

    const { db } = await analyze([output], { db: null });
    const flows = await query(db, `SELECT pid, exe, attribution_method FROM flow_details WHERE resp_p = ${PORT}`);
    db.close();
    expect(flows).toEqual([{ pid: curl.pid, exe: '/usr/bin/curl', attribution_method: 'socket-event' }]);
  }, 60_000);

  it('refuses to run unprivileged, saying which privileges it needs, and leaves no file', () => {
    const dir = scratch();
    const output = join(dir, 'nobody.npsession');
    const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(repoRoot, 'bin/netprov.js'), 'record', '-o', output], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('netprov: record: needs root (CAP_BPF, CAP_PERFMON and CAP_NET_RAW) to load eBPF programs and open a packet socket\n');
    expect(existsSync(output)).toBe(false);
  });

  it('names an unknown interface', () => {
    const output = join(scratch(), 'x.npsession');
    const run = netprov(['record', '-o', output, '-i', 'nosuch0']);
    expect([run.status, run.stderr]).toEqual([1, 'netprov: record: nosuch0: cannot capture (no such interface)\n']);
    expect(existsSync(output)).toBe(false);
  });

  it('says how to build the sensor where it is not built', () => {
    // An install without sysex/linux/build: the built CLI and its dependencies, nothing else.
    const install = scratch();
    cpSync(join(repoRoot, 'dist'), join(install, 'dist'), { recursive: true });
    cpSync(join(repoRoot, 'package.json'), join(install, 'package.json'));
    symlinkSync(join(repoRoot, 'node_modules'), join(install, 'node_modules'));
    const run = spawnSync(process.execPath, [join(install, 'dist/bin/cli.js'), 'record', '-o', join(install, 'x.npsession')], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `netprov: record: the Linux sensor is not built (${join(install, 'sysex/linux/build/netprov-sensor')}): apt-get install clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev, then make -C sysex/linux\n`,
    );
  });
});
