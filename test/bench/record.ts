/**
 * `npm run bench:record` (root): the Linux sensor and `tcpdump -w` capturing the same paced load
 * on the loopback of a network namespace made for the run, at rising rates: UDP datagrams, then
 * TCP connections. For each rate: what each kept of what was made, what each reported lost, its
 * CPU and peak RSS (/usr/bin/time). The highest rate the sensor keeps whole is its sustained
 * zero-loss rate here.
 *
 *   npm run bench:record -- --rates 50000,100000 --connect-rates 5000,10000 --seconds 3
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
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
const seconds = Number(arg('seconds', '3'));
const ns = `np-bench-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'netprov-bench-record-'));
const inNs = (command: string[]) => inNsOf(ns, command);

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

/** What the sensor kept of the load: packets for UDP, connects (with their process) for TCP. */
function sensorCounts(session: string, load: Load): { kept: number; lost: number } {
  let kept = 0;
  let lost = 0;
  for (const event of SessionReader.open(session).events()) {
    if (load === 'udp' && event.kind === 'packet') kept++;
    else if (load === 'tcp' && event.kind === 'flowOpen' && event.origin === FlowOrigin.connect && event.remotePort === PORT.tcp && event.processKey) kept++;
    else if (event.kind === 'loss') lost += event.count;
  }
  return { kept, lost };
}

async function measure(load: Load, rate: number): Promise<string[]> {
  const session = join(dir, 'sensor.npsession');
  const pcap = join(dir, 'tcpdump.pcap');
  const sensor = await startTimed([join(build, 'netprov-sensor'), '--output', session, '--interface', 'lo'], 'recording');
  const tcpdump = await startTimed(['tcpdump', '-i', 'lo', '-n', '-B', '8192', '-w', pcap], 'listening on');
  const blaster = [join(build, 'blaster'), ...(load === 'tcp' ? ['--tcp'] : []), '127.0.0.1', String(PORT[load]), String(rate), String(seconds)];
  const sent = Number(execFileSync('ip', inNs(blaster), { encoding: 'utf8' }).trim());
  await new Promise((r) => setTimeout(r, 1500)); // tcpdump's ring blocks retire after 1 s
  // /usr/bin/time ignores SIGINT itself: signal the capture it runs (ip netns exec execs in place).
  execFileSync('pkill', ['-INT', '-P', String(sensor.child.pid)]);
  execFileSync('pkill', ['-INT', '-P', String(tcpdump.child.pid)]);
  const [sensorUsage, tcpdumpUsage] = await Promise.all([sensor.done, tcpdump.done]);
  const kept = sensorCounts(session, load);
  // Both keep one copy of each loopback packet (libpcap, like the sensor, skips the outgoing view).
  const captured = Number(/(\d+) packets? captured/.exec(tcpdumpUsage.stderr)?.[1] ?? NaN);
  const dropped = Number(/(\d+) packets? dropped by kernel/.exec(tcpdumpUsage.stderr)?.[1] ?? NaN);
  rmSync(session, { force: true });
  rmSync(pcap, { force: true });
  const cpu = (u: Usage) => `${((u.cpuSeconds / seconds) * 100).toFixed(0)}% CPU, ${u.peakRssMiB.toFixed(0)} MiB`;
  const unit = load === 'udp' ? 'datagrams/s' : 'connects/s';
  return [
    `${rate.toLocaleString('en-US')} ${unit}`,
    sent.toLocaleString('en-US'),
    `${kept.kept.toLocaleString('en-US')} kept, ${kept.lost.toLocaleString('en-US')} reported lost${kept.kept === sent && kept.lost === 0 ? ' (whole)' : ''}`,
    cpu(sensorUsage),
    `${captured.toLocaleString('en-US')} packets kept, ${dropped.toLocaleString('en-US')} dropped by kernel`,
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
  for (const rate of rates) rows.push(await measure('udp', rate));
  for (const rate of connectRates) rows.push(await measure('tcp', rate));
  console.log(`${cpus().length} × ${cpus()[0].model}; ${seconds} s of each load on a namespace's lo (64-byte UDP datagrams; TCP connect, accept, close)\n`);
  console.log('| target rate | made | netprov-sensor (packets; attributed connects) | sensor CPU, peak RSS | tcpdump -w | tcpdump CPU, peak RSS |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
} finally {
  spawnSync('ip', ['netns', 'del', ns]);
  rmSync(dir, { recursive: true, force: true });
}
