/**
 * `npm run bench`: netprov end to end on this machine, next to tshark and to the machine's own
 * limit, on the same captures in the same run. The README's table is this script's output.
 *
 * The workload (traffic.ts): thousands of flows open at once, most packets 600–1,514 bytes, some
 * small, a tenth UDP. For each size (0.4M, 2M, 20M packets), each step runs as a user runs it —
 * the CLI in a fresh process — timed, with its peak RSS (GNU time):
 *   import                      pcap -> session file
 *   analyze pcap (in memory)    straight from the capture, the default
 *   analyze pcap --db FILE      straight from the capture to a finished database
 *   import / analyze pcapng     the same packets as a pcapng (editcap's), below 10M packets
 *   analyze pcap.gz             the pcap gzipped (gzip -6), below 10M packets; beside it the
 *                               limit of inflating it (Node's zlib alone, output dropped)
 *   analyze N rotated pcaps     the pcap cut into files of 6,700 packets (~5 MB, as `tcpdump -C 5`
 *                               leaves a capture), all given at once, below 10M packets
 *   tshark -q -z conv,tcp       the field's tool on the same pcap
 *   limit: read, dissect, copy  a plain read of the file; a minimal C dissect-and-hash loop; the
 *                               file read and written to a new one, as import reads and writes
 * Then one 50,000,000-packet `analyze --db`; a 2,000,000-SYN scan (a flow a packet: writeScanPcap)
 * analysed in memory and with --db, beside tshark; and the start-up on an empty capture.
 *
 *   npm run bench [-- --sizes 400000,2000000,20000000] [--big 50000000, 0 for none] [--scan 2000000, 0 for none] [--runs 3]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { pcapFile } from '../helpers/capture-writer.js';
import { writeScanPcap, writeTrafficPcap } from './traffic.js';

const repoRoot = resolve(import.meta.dirname, '../../..');
const cli = join(repoRoot, 'bin/netprov.js');
const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const sizes = arg('sizes', '400000,2000000,20000000').split(',').map(Number);
const bigPackets = Number(arg('big', '50000000'));
const scanPackets = Number(arg('scan', '2000000'));
const runs = Number(arg('runs', '3'));
const dir = mkdtempSync(join(tmpdir(), 'netprov-bench-'));
const MB = 1e6;

interface Timing {
  seconds: number;
  peakMiB: number;
}

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const hasEditcap = spawnSync('editcap', ['--version'], { stdio: 'ignore' }).status === 0;
if (spawnSync('/usr/bin/time', ['-f', '%e', 'true'], { stdio: 'ignore' }).status !== 0) {
  throw new Error('npm run bench needs GNU time (/usr/bin/time; Debian package "time")');
}

/** One command in a fresh process: wall seconds and peak RSS, as GNU time reports them. */
function timed(command: string[], cleanup: () => void = () => {}): Timing {
  cleanup();
  const r = spawnSync('/usr/bin/time', ['-f', 'netprov-bench %e %M', ...command], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = r.stderr.split('\n').find((l) => l.startsWith('netprov-bench '));
  if (r.status !== 0 || !line) throw new Error(`${command.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const [, secs, kib] = line.split(' ');
  return { seconds: Number(secs), peakMiB: Number(kib) / 1024 };
}

/**
 * The floor of a .pcap.gz: Node's own zlib inflating it, the output dropped. Node's zlib (the one
 * netprov's inflater links) is Chromium's, 2-4x faster here than Debian's zlib 1.2.13 a C program
 * would link, so limit.c would be no floor.
 */
const INFLATE_ALONE = `require('node:fs').createReadStream(process.argv[1], { highWaterMark: 256 << 10 })
  .pipe(require('node:zlib').createGunzip({ chunkSize: 4 << 20 })).resume();`;

/** The median of `runs` runs (the first after writing gigabytes measured up to 30% slower). */
function median(command: string[], cleanup?: () => void): Timing & { all: number[] } {
  const all = Array.from({ length: runs }, () => timed(command, cleanup)).sort((a, b) => a.seconds - b.seconds);
  return { ...all[Math.floor(all.length / 2)], all: all.map((t) => t.seconds) };
}

const limitBinary = join(dir, 'limit');
execFileSync('cc', ['-O2', '-o', limitBinary, join(repoRoot, 'test/bench/limit.c')]);
const limit = (mode: 'read' | 'dissect' | 'copy', file: string) => {
  const copy = join(dir, 'limit-copy');
  rmSync(copy, { force: true });
  execFileSync('sync');
  const seconds = Number(execFileSync(limitBinary, [mode, file, ...(mode === 'copy' ? [copy] : [])], { encoding: 'utf8' }).trim().split(' ')[2]);
  rmSync(copy, { force: true });
  return seconds;
};

const rows: string[][] = [['packets', 'capture', 'step', 'time', 'capture read', 'packets/s', 'peak RSS', 'vs tshark']];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const gbps = (bytes: number, secs: number) => `${(bytes / 1e9 / secs).toFixed(2)} GB/s`;

function addRow(packets: number, bytes: number, step: string, t: Timing & { all?: number[] }, tshark: number | null) {
  rows.push([
    fmt(packets), `${(bytes / MB).toFixed(0)} MB`, step, `${t.seconds.toFixed(2)} s${t.all && t.all.length > 1 ? ` (${t.all.map((s) => s.toFixed(2)).join('/')})` : ''}`,
    gbps(bytes, t.seconds), fmt(packets / t.seconds), t.peakMiB ? `${fmt(t.peakMiB)} MiB` : '', tshark ? `${(tshark / t.seconds).toFixed(1)}×` : '',
  ]);
}

try {
  for (const packets of bigPackets > 0 ? [...sizes, bigPackets] : sizes) {
    const big = packets === bigPackets;
    const pcap = join(dir, `mixed-${packets}.pcap`);
    const traffic = writeTrafficPcap(pcap, { packets, concurrentFlows: 4000 });
    const bytes = statSync(pcap).size;
    console.error(`${fmt(packets)} packets: ${(bytes / MB).toFixed(0)} MB pcap, ${fmt(traffic.flows)} flows, ${((100 * traffic.udpPackets) / packets).toFixed(0)}% UDP packets`);
    execFileSync('sync');
    const db = join(dir, 'analysis.duckdb');
    const removeDb = () => rmSync(db, { force: true });
    // Every run starts with no dirty pages to write back: else the previous run's writes (an
    // import's session, a database) slowed the next one's by up to 3x here, from run to run.
    const quiet = (cleanup: () => void) => () => (cleanup(), execFileSync('sync'));
    if (big) {
      addRow(packets, bytes, 'analyze pcap --db FILE', timed([process.execPath, cli, 'analyze', pcap, '--db', db], quiet(removeDb)), null);
    } else {
      const session = join(dir, 'mixed.npsession');
      const tshark = hasTshark ? timed(['sh', '-c', `tshark -r ${pcap} -q -z conv,tcp > /dev/null`]).seconds : null;
      const steps: [string, string[], () => void][] = [
        ['import (pcap -> session)', [process.execPath, cli, 'import', pcap, '-o', session, '--force'], quiet(() => rmSync(session, { force: true }))],
        ['analyze pcap (in memory)', [process.execPath, cli, 'analyze', pcap], quiet(() => rmSync(session, { force: true }))],
        ['analyze pcap --db FILE', [process.execPath, cli, 'analyze', pcap, '--db', db], quiet(removeDb)],
      ];
      const once = packets >= 10_000_000; // the big sizes once: minutes each
      // The same packets as a pcapng (Wireshark's format; editcap writes enhanced packet blocks
      // without options, as dumpcap does): the smaller sizes only, beside the pcap's rows.
      const pcapng = join(dir, `mixed-${packets}.pcapng`);
      if (!once && hasEditcap) {
        execFileSync('editcap', ['-F', 'pcapng', pcap, pcapng]);
        steps.push(
          ['import (pcapng -> session)', [process.execPath, cli, 'import', pcapng, '-o', session, '--force'], quiet(() => rmSync(session, { force: true }))],
          ['analyze pcapng (in memory)', [process.execPath, cli, 'analyze', pcapng], quiet(() => {})],
        );
      }
      // The pcap as gzip hands it over (rates below are of the inflated capture).
      const gz = `${pcap}.gz`;
      if (!once) {
        execFileSync('sh', ['-c', `gzip -6 -c '${pcap}' > '${gz}'`]);
        steps.push(['analyze pcap.gz (in memory)', [process.execPath, cli, 'analyze', gz], quiet(() => {})]);
      }
      // The pcap rotated, as tcpdump -C leaves it: hundreds of files merged into one session.
      const rotated = join(dir, `rotated-${packets}`);
      if (!once && hasEditcap) {
        mkdirSync(rotated);
        execFileSync('editcap', ['-F', 'pcap', '-c', '6700', pcap, join(rotated, 'part.pcap')]);
        const parts = readdirSync(rotated).sort().map((f) => join(rotated, f));
        steps.push([`analyze ${parts.length} rotated pcaps`, [process.execPath, cli, 'analyze', ...parts], quiet(() => {})]);
      }
      for (const [step, command, cleanup] of steps) addRow(packets, bytes, step, once ? timed(command, cleanup) : median(command, cleanup), tshark);
      rmSync(pcapng, { force: true });
      rmSync(rotated, { recursive: true, force: true });
      if (!once) addRow(packets, bytes, 'limit: inflate the .gz alone', median([process.execPath, '-e', INFLATE_ALONE, gz]), tshark);
      rmSync(gz, { force: true });
      if (tshark !== null) addRow(packets, bytes, 'tshark -q -z conv,tcp', { seconds: tshark, peakMiB: 0 }, null);
      addRow(packets, bytes, 'limit: read(2) the file', { seconds: limit('read', pcap), peakMiB: 0 }, tshark);
      addRow(packets, bytes, 'limit: C dissect + flow hash', { seconds: limit('dissect', pcap), peakMiB: 0 }, tshark);
      addRow(packets, bytes, 'limit: read + write a copy', { seconds: limit('copy', pcap), peakMiB: 0 }, tshark);
      rmSync(session, { force: true });
    }
    rmSync(pcap);
    removeDb();
  }

  // A fast scan: a connection a packet, bounded by the tracker's cap on open connections.
  if (scanPackets > 0) {
    const scan = join(dir, `scan-${scanPackets}.pcap`);
    const { bytes } = writeScanPcap(scan, scanPackets);
    console.error(`${fmt(scanPackets)} packets: ${(bytes / MB).toFixed(0)} MB pcap, a SYN scan (a flow a packet)`);
    execFileSync('sync');
    const db = join(dir, 'scan.duckdb');
    const tshark = hasTshark ? timed(['sh', '-c', `tshark -r ${scan} -q -z conv,tcp > /dev/null`]) : null;
    const quiet = () => (rmSync(db, { force: true }), execFileSync('sync'));
    addRow(scanPackets, bytes, 'scan: analyze (in memory)', timed([process.execPath, cli, 'analyze', scan], quiet), tshark?.seconds ?? null);
    addRow(scanPackets, bytes, 'scan: analyze --db FILE', timed([process.execPath, cli, 'analyze', scan, '--db', db], quiet), tshark?.seconds ?? null);
    if (tshark) addRow(scanPackets, bytes, 'scan: tshark -q -z conv,tcp', tshark, null);
    rmSync(scan);
    rmSync(db, { force: true });
  }

  // Start-up: everything before the first packet, on a capture that has none.
  const empty = join(dir, 'empty.pcap');
  writeFileSync(empty, pcapFile([], { littleEndian: true, nanos: false, linkType: 1 }));
  const firstReads = Array.from({ length: 5 }, () => {
    const r = spawnSync(process.execPath, ['--import', join(import.meta.dirname, 'first-read.js'), cli, 'analyze', empty], { encoding: 'utf8' });
    return Number(/netprov-first-read (\S+)/.exec(r.stderr)?.[1]);
  }).sort((a, b) => a - b);
  const whole = median([process.execPath, cli, 'analyze', empty]);

  const widths = rows[0].map((_, i) => Math.max(...rows.map((x) => x[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  console.log(line(rows[0]));
  console.log(`|${widths.map((w, i) => (i === 2 ? ':' : '-') + '-'.repeat(w) + (i === 2 ? '-' : ':')).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  console.log(`start-up on an empty capture: \`netprov analyze\` read its first bytes ${firstReads[2].toFixed(2)} s after the process started ` +
    `(median of 5: ${firstReads.map((s) => s.toFixed(2)).join('/')}); the whole command took ${whole.seconds.toFixed(2)} s (peak RSS ${fmt(whole.peakMiB)} MiB)`);
  if (!hasTshark) console.log('tshark not installed: comparison skipped (apt-get install tshark)');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
