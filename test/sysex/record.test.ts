/**
 * `netprov record` driving the Linux sensor (root): a live recording in a network namespace this
 * test makes, stopped by SIGINT as a user would; and the one-line refusals a user gets when the
 * sensor cannot run.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query } from '../../analyzer/db/database.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { netprov } from '../helpers/cli.js';
import { addNetns, inNs as inNsOf, removeNetns, waitFor } from '../helpers/netns.js';
import { repoRoot, scratch } from '../helpers/paths.js';

const ns = `np-rec-${randomBytes(3).toString('hex')}`;
const inNs = (command: string[]) => inNsOf(ns, command);
const PORT = 18090;

beforeAll(() => {
  execFileSync('make', ['-s', '-C', join(repoRoot, 'sysex/linux')], { stdio: 'inherit' });
  addNetns(ns);
}, 120_000);

afterAll(() => {
  removeNetns(ns);
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
    // In-process: the sensor is a thread of the recorder (ip netns exec execs node in place), not a child.
    const threads = readdirSync(`/proc/${recorder.pid}/task`).map((tid) => readFileSync(`/proc/${recorder.pid}/task/${tid}/comm`, 'utf8').trim());
    expect(threads).toContain('netprov-sensor');
    expect(spawnSync('pgrep', ['-P', String(recorder.pid)]).stdout.toString()).toBe('');

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

  it('shows events/s of each kind, losses and bytes written on a terminal', () => {
    const output = join(scratch(), 'tty.npsession');
    const blaster = `${join(repoRoot, 'sysex/linux/build/blaster')} 127.0.0.1 9000 2000 3`;
    const record = `${process.execPath} ${join(repoRoot, 'bin/netprov.js')} record -i lo --duration 4 -o ${output}`;
    // script(1) gives the recorder a terminal; the blaster sends 2,000 datagrams/s meanwhile.
    const run = spawnSync('ip', inNs(['script', '-qefc', `${record} & sleep 0.5; ${blaster} >/dev/null; wait`, '/dev/null']), { encoding: 'utf8' });
    expect(run.status).toBe(0);
    const lines = run.stdout.split(/[\r\n]+/).filter((line) => line.startsWith('packet '));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line).toMatch(/^packet \d+\/s {2}flowOpen \d+\/s {2}flowClose \d+\/s {2}exec \d+\/s {2}fork \d+\/s {2}exit \d+\/s {2}\| lost 0 \| \d+\.\d MiB written\s*$/);
    const packetRates = lines.map((line) => Number(/^packet (\d+)/.exec(line)![1]));
    expect(Math.max(...packetRates)).toBeGreaterThan(1000);
    expect(run.stdout).toMatch(/wrote .*tty\.npsession: \d+ events/);
  });

  it('holds the sensor while its reader is behind: what waits in memory stays under the high-water mark', () => {
    // The sensor in this test's namespace, its stream left unread for 3 s of 100,000 datagrams/s (~30 MB of session).
    const script = `
      const { startSensor } = await import(${JSON.stringify(join(repoRoot, 'dist/recorder/sensor.js'))});
      const { execFile } = await import('node:child_process');
      const sensor = startSensor({ interfaces: ['lo'] });
      await sensor.ready;
      await new Promise((done) => execFile(${JSON.stringify(join(repoRoot, 'sysex/linux/build/blaster'))}, ['127.0.0.1', '9000', '100000', '3'], done));
      const waiting = sensor.stream.readableLength;
      const made = sensor.counts().bytes;
      let read = 0;
      sensor.stream.on('data', (piece) => (read += piece.length));
      sensor.stop();
      await sensor.exited;
      console.log(JSON.stringify({ waiting, made, read, lost: sensor.counts().lost, total: sensor.counts().bytes }));`;
    const run = spawnSync('ip', inNs([process.execPath, '--input-type=module', '-e', script]), { encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { waiting: number; made: number; read: number; lost: number; total: number };
    expect(result.waiting).toBeGreaterThan(8 * 2 ** 20); // it did fill up while unread
    expect(result.waiting).toBeLessThanOrEqual(16 * 2 ** 20 + 2 ** 20); // and stopped at the mark (plus one chunk)
    expect(result.read).toBe(result.total); // every byte the sensor handed over reached the reader, in the end
  });

  it('refuses to run unprivileged, saying which privileges it needs, and leaves no file', () => {
    const dir = scratch();
    chmodSync(dir, 0o777); // writable by nobody: the refusal to show is the sensor's, not the file's
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

  it('npm install\'s sensor step succeeds without the build tools, saying what to install', () => {
    // The sources alone, and a PATH with make, a C compiler and node but no clang or bpftool.
    const tree = scratch();
    cpSync(join(repoRoot, 'sysex'), join(tree, 'sysex'), { recursive: true, filter: (path) => !path.endsWith('/build') });
    cpSync(join(repoRoot, 'recorder/native'), join(tree, 'recorder/native'), { recursive: true, filter: (path) => !path.endsWith('/build') });
    symlinkSync(join(repoRoot, 'node_modules'), join(tree, 'node_modules'));
    const bin = join(tree, 'bin');
    mkdirSync(bin);
    for (const tool of ['make', 'cc', 'gcc', 'sh', 'uname', 'sed', 'mkdir', 'mv', 'rm']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
    const run = spawnSync(process.execPath, [join(tree, 'recorder/native/build.js')], { encoding: 'utf8', env: { PATH: bin } });
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/^netprov: the sensor was not built \([^)]*(bpftool|clang)[^)]*(not found|No such file or directory)\); live recording needs it: apt-get install clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev, then npm run build:sensor\n$/);
    expect(existsSync(join(tree, 'recorder/native/build/Release/netprov_sensor.node'))).toBe(false);
    // Nothing half-made stays behind to break the next build (an empty vmlinux.h did, once).
    const build = join(tree, 'sysex/linux/build');
    expect(existsSync(build) ? readdirSync(build).filter((f) => f.startsWith('vmlinux')) : []).toEqual([]);
  });

  it('refuses an output it cannot create before starting the sensor', () => {
    const missing = join(scratch(), 'no-such-dir', 'x.npsession');
    const run = netprov(['record', '-o', missing]);
    expect([run.status, run.stderr]).toEqual([1, `netprov: ${missing}: cannot create the output (${join(missing, '..')}: ENOENT)\n`]);
    const directory = scratch();
    const notFile = netprov(['record', '-o', directory, '--force']);
    expect([notFile.status, notFile.stderr]).toEqual([1, `netprov: ${directory}: the output exists and is not a regular file\n`]);
    const existing = join(scratch(), 'earlier.npsession');
    writeFileSync(existing, 'an earlier recording');
    const again = netprov(['record', '-o', existing]);
    expect([again.status, again.stderr]).toEqual([1, `netprov: ${existing}: the output already exists; give --force to replace it\n`]);
    expect(readFileSync(existing, 'utf8')).toBe('an earlier recording');
  });

  it('stops the sensor and names the file when the session file cannot be written (a full disk)', () => {
    // A 4 KiB tmpfs (one page) fills with the first chunk of a recording: the start-up snapshot alone is larger.
    const disk = scratch();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', disk]);
    try {
      const output = join(disk, 'case.npsession');
      const run = spawnSync(process.execPath, [join(repoRoot, 'bin/netprov.js'), 'record', '-o', output, '--duration', '10'], { encoding: 'utf8', timeout: 30_000 });
      expect(run.signal).toBe(null);
      expect([run.status, run.stderr.split('\n').at(-2)]).toEqual([1, `netprov: ${output}: cannot write session file (ENOSPC)`]);
    } finally {
      execFileSync('umount', [disk]);
    }
  });

  it('refuses --source sysex off macOS, naming the default', () => {
    const run = netprov(['record', '--source', 'sysex', '-o', join(scratch(), 'x.npsession')]);
    expect([run.status, run.stderr]).toEqual([1, 'netprov: --source sysex: the macOS system extension; on Linux the sensor is the default source\n']);
  });

  it('says how to build the sensor where it is not built', () => {
    // An install where the addon was not built: the built CLI, its dependencies and the build instructions.
    const install = scratch();
    cpSync(join(repoRoot, 'dist'), join(install, 'dist'), { recursive: true });
    cpSync(join(repoRoot, 'package.json'), join(install, 'package.json'));
    for (const file of ['bin/netprov.js', 'bin/code-cache.js']) cpSync(join(repoRoot, file), join(install, file));
    cpSync(join(repoRoot, 'recorder/native/build-steps.json'), join(install, 'recorder/native/build-steps.json'));
    symlinkSync(join(repoRoot, 'node_modules'), join(install, 'node_modules'));
    const run = spawnSync(process.execPath, [join(install, 'bin/netprov.js'), 'record', '-o', join(install, 'x.npsession')], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `netprov: record: the sensor is not built (${join(install, 'recorder/native/build/Release/netprov_sensor.node')}): apt-get install clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev, then npm run build:sensor\n`,
    );
  });
});
