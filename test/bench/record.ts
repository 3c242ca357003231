/**
 * `npm run bench:record` (root): `netprov record` (the Linux sensor in-process) and `tcpdump -w`
 * capturing the same paced load on the loopback of a network namespace made for the run, at
 * rising rates: UDP datagrams, TCP connections, then both at once. For each run: what each kept
 * of what was made, what each reported lost, its CPU and peak RSS (/usr/bin/time). The highest
 * rate kept whole is the sustained zero-loss rate here.
 *
 *   npm run bench:record -- --rates 50000,100000 --connect-rates 5000,10000 --mixes 100000:10000 --seconds 3
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FlowOrigin } from '../../recorder/session/events.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { addNetns, inNs as inNsOf, waitFor } from '../helpers/netns.js';

const repoRoot = resolve(import.meta.dirname, '../../..');
const build = join(repoRoot, 'sysex/linux/build');
const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const rates = arg('rates', '100000,200000,400000,800000').split(',').map(Number);
const connectRates = arg('connect-rates', '5000,10000,20000').split(',').map(Number);
/** Both at once, DATAGRAMS:CONNECTS per second: the target is 100,000 packets/s plus 10,000 connects/s. */
const mixes = arg('mixes', '100000:10000,200000:20000').split(',').map((m) => m.split(':').map(Number));
const seconds = Number(arg('seconds', '3'));
const ns = `np-bench-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'netprov-bench-record-'));
const inNs = (command: string[]) => inNsOf(ns, command);
const execFileAsync = promisify(execFile);

interface Usage {
  cpuSeconds: number;
  peakRssMiB: number;
  stderr: string;
}

/** A capture under /usr/bin/time, ready once `readyText` shows on its stderr. */
async function startTimed(command: string[], readyText: string): Promise<{ child: ChildProcess; done: Promise<Usage> }> {
  const child = spawn('/usr/bin/time', ['-f', 'time %U %S %M', 'ip', ...inNs(command)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<Usage>((resolveDone) =>
    child.once('close', () => {
      const [, user, system, rssKiB] = /time (\S+) (\S+) (\d+)/.exec(stderr) ?? [];
      resolveDone({ cpuSeconds: Number(user) + Number(system), peakRssMiB: Number(rssKiB) / 1024, stderr });
    }),
  );
  await waitFor(child, readyText);
  return { child, done };
}

type Load = 'udp' | 'tcp';
const PORT = { udp: 9000, tcp: 9001 };
/** One run: what each generator is asked to make per second, at the same time. */
type Mix = Partial<Record<Load, number>>;

/** What the recording kept of the load: datagrams to the UDP port, connects (with their process) to the TCP port. */
function recorded(session: string): { datagrams: number; connects: number; lost: number } {
  const counts = { datagrams: 0, connects: 0, lost: 0 };
  for (const event of SessionReader.open(session).events()) {
    // lo: Ethernet framing, IPv4 (no options from the blaster), UDP destination port at 14 + 20 + 2.
    if (event.kind === 'packet' && event.data[23] === 17 && ((event.data[36] << 8) | event.data[37]) === PORT.udp) counts.datagrams++;
    else if (event.kind === 'flowOpen' && event.origin === FlowOrigin.connect && event.remotePort === PORT.tcp && event.processKey) counts.connects++;
    else if (event.kind === 'loss') counts.lost += event.count;
  }
  return counts;
}

const number = (n: number) => n.toLocaleString('en-US');

async function measure(mix: Mix): Promise<string[]> {
  const session = join(dir, 'sensor.npsession');
  const pcap = join(dir, 'tcpdump.pcap');
  // The product path: `netprov record`, the sensor in-process on its own thread, every frame checked and written by Node.
  const recorder = await startTimed([process.execPath, join(repoRoot, 'bin/netprov.js'), 'record', '-i', 'lo', '-o', session], 'recording');
  const tcpdump = await startTimed(['tcpdump', '-i', 'lo', '-n', '-B', '8192', '-w', pcap], 'listening on');
  const loads = Object.entries(mix) as [Load, number][];
  const made = Object.fromEntries(
    await Promise.all(
      loads.map(async ([load, rate]) => {
        const blaster = [join(build, 'blaster'), ...(load === 'tcp' ? ['--tcp'] : []), '127.0.0.1', String(PORT[load]), String(rate), String(seconds)];
        const { stdout } = await execFileAsync('ip', inNs(blaster), { encoding: 'utf8' });
        return [load, Number(stdout.trim())];
      }),
    ),
  ) as Record<Load, number>;
  await new Promise((r) => setTimeout(r, 1500)); // tcpdump's ring blocks retire after 1 s
  // /usr/bin/time ignores SIGINT itself: signal the capture it runs (ip netns exec execs in place).
  execFileSync('pkill', ['-INT', '-P', String(recorder.child.pid)]);
  execFileSync('pkill', ['-INT', '-P', String(tcpdump.child.pid)]);
  const [recorderUsage, tcpdumpUsage] = await Promise.all([recorder.done, tcpdump.done]);
  const kept = recorded(session);
  // Both keep one copy of each loopback packet (libpcap, like the sensor, skips the outgoing view).
  const captured = Number(/(\d+) packets? captured/.exec(tcpdumpUsage.stderr)?.[1] ?? NaN);
  const dropped = Number(/(\d+) packets? dropped by kernel/.exec(tcpdumpUsage.stderr)?.[1] ?? NaN);
  rmSync(session, { force: true });
  rmSync(pcap, { force: true });
  const cpu = (u: Usage) => `${((u.cpuSeconds / seconds) * 100).toFixed(0)}% CPU, ${u.peakRssMiB.toFixed(0)} MiB`;
  const whole = (mix.udp === undefined || kept.datagrams === made.udp) && (mix.tcp === undefined || kept.connects === made.tcp) && kept.lost === 0;
  return [
    loads.map(([load, rate]) => `${number(rate)} ${load === 'udp' ? 'datagrams/s' : 'connects/s'}`).join(' + '),
    loads.map(([load]) => number(made[load])).join(' + '),
    [mix.udp !== undefined ? `${number(kept.datagrams)} datagrams` : '', mix.tcp !== undefined ? `${number(kept.connects)} attributed connects` : '']
      .filter(Boolean)
      .join(' + ') + `, ${number(kept.lost)} reported lost${whole ? ' (whole)' : ''}`,
    cpu(recorderUsage),
    `${number(captured)} packets kept, ${number(dropped)} dropped by kernel`,
    cpu(tcpdumpUsage),
  ];
}

if (process.getuid?.() !== 0) {
  console.error('bench:record: needs root (it loads the sensor and makes a network namespace)');
  process.exit(1);
}
for (const tool of ['tcpdump', '/usr/bin/time']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error) {
    console.error(`bench:record: ${tool} is missing (apt-get install tcpdump time)`);
    process.exit(1);
  }
}
execFileSync('make', ['-s', '-C', join(repoRoot, 'sysex/linux')], { stdio: 'inherit' });
addNetns(ns);
try {
  const rows: string[][] = [];
  for (const rate of rates) rows.push(await measure({ udp: rate }));
  for (const rate of connectRates) rows.push(await measure({ tcp: rate }));
  for (const [udp, tcp] of mixes) rows.push(await measure({ udp, tcp }));
  console.log(`${cpus().length} × ${cpus()[0].model}; ${seconds} s of each load on a namespace's lo (64-byte UDP datagrams; TCP connect, accept, close)\n`);
  console.log('| target rate | made | netprov record (sensor in-process) | netprov record CPU, peak RSS | tcpdump -w | tcpdump CPU, peak RSS |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
} finally {
  spawnSync('ip', ['netns', 'del', ns]);
  rmSync(dir, { recursive: true, force: true });
}
