/**
 * `npm run bench`: the hot paths, measured on this machine, next to the field's tools on the same
 * input in the same run. Numbers go in the README with the machine they ran on.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { importFiles } from '../../recorder/import/index.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { writeTrafficPcap } from './traffic.js';

const MiB = 1 << 20;
const dir = mkdtempSync(join(tmpdir(), 'netprov-bench-'));
const rows: string[][] = [];

function seconds<T>(work: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const result = work();
  return [result, Number(process.hrtime.bigint() - start) / 1e9];
}

function row(what: string, secs: number, bytes: number, packets: number, note = '') {
  rows.push([what, `${secs.toFixed(2)} s`, `${(bytes / MiB / secs).toFixed(0)} MiB/s`, `${Math.round(packets / secs).toLocaleString('en-US')} pkt/s`, note]);
}

function tshark(args: string[]): number | null {
  if (spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status !== 0) return null;
  const [, secs] = seconds(() => execFileSync('sh', ['-c', `tshark ${args.join(' ')} > /dev/null 2>&1`]));
  return secs;
}

try {
  const pcap = join(dir, 'traffic.pcap');
  const [traffic, genSecs] = seconds(() => writeTrafficPcap(pcap, { targetBytes: 200 * MiB, concurrentFlows: 2000, packetsPerFlow: 24 }));
  console.log(`generated ${pcap}: ${(traffic.bytes / MiB).toFixed(0)} MiB, ${traffic.packets} packets, ${traffic.flows} flows (${genSecs.toFixed(1)} s)`);

  const session = join(dir, 'traffic.npsession');
  const [, importSecs] = seconds(() => importFiles([pcap], session));
  row('netprov import (pcap -> session)', importSecs, traffic.bytes, traffic.packets);

  const [events, readSecs] = seconds(() => {
    let n = 0;
    for (const chunk of SessionReader.open(session).chunks()) n += chunk.length;
    return n;
  });
  row('session read (decode every event)', readSecs, statSync(session).size, events, `${events} events`);

  const tsharkSecs = tshark(['-r', pcap, '-T', 'fields', '-e', 'frame.len']);
  if (tsharkSecs !== null) row('tshark -T fields -e frame.len', tsharkSecs, traffic.bytes, traffic.packets);
  else rows.push(['tshark', 'not installed', '', '', '']);

  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  for (const r of rows) console.log(r.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
