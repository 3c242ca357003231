/**
 * Rotated captures — `tcpdump -C` or `-G` leave hundreds or thousands of files of one capture —
 * given together. Each file waits closed until the merge reaches its first packet
 * (recorder/import/captures.ts, Input), so a command holds one of them open and its windows,
 * whatever their number: all open at once, 200 files of 1.5 MB had `import` peak at 375 MB
 * (94 MB for the one file they were cut from), and past the open-file limit a command failed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../recorder/errors.js';
import { CaptureStream } from '../../recorder/import/captures.js';
import { writeTrafficPcap } from '../bench/traffic.js';
import { pcapFile, pcapPackets } from '../helpers/capture-writer.js';
import { repoRoot, scratch } from '../helpers/paths.js';

const cli = join(repoRoot, 'bin/netprov.js');

/** Cuts a pcap into files of `each` packets, named in order, as tcpdump -C names its files. */
function rotate(pcap: string, each: number): string[] {
  const { linkType, packets } = pcapPackets(readFileSync(pcap));
  const dir = scratch();
  const files: string[] = [];
  for (let at = 0; at < packets.length; at += each) {
    const file = join(dir, `capture.pcap${String(files.length).padStart(4, '0')}`);
    writeFileSync(file, pcapFile(packets.slice(at, at + each), { littleEndian: true, nanos: false, linkType }));
    files.push(file);
  }
  return files;
}

/** The flows as CSV, rows sorted, without what names the session (uid, session_id). */
function flowRows(stdout: string): string[] {
  const [head, ...rows] = stdout.trim().split('\n');
  const columns = head.split(',');
  const kept = columns.map((c, i) => (c === 'uid' || c === 'session_id' ? -1 : i)).filter((i) => i >= 0);
  return rows.map((r) => kept.map((i) => r.split(',')[i]).join(',')).sort();
}

const openFiles = () => readdirSync('/proc/self/fd').length;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('rotated captures', () => {
  let whole: string;
  let rotated: string[];
  beforeAll(() => {
    whole = join(scratch(), 'whole.pcap');
    writeTrafficPcap(whole, { packets: 30_000, concurrentFlows: 1_000 });
    rotated = rotate(whole, 100);
  });

  it('give the flows of the capture they were cut from, with 64 open files allowed for 300 files', () => {
    expect(rotated.length).toBe(300);
    const limited = spawnSync('bash', ['-c', 'ulimit -n 64 && exec "$0" "$@"', process.execPath, cli, 'flows', ...rotated, '--format', 'csv'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(limited.stderr).toBe('');
    expect(limited.status).toBe(0);
    const one = spawnSync(process.execPath, [cli, 'flows', whole, '--format', 'csv'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(one.status).toBe(0);
    expect(flowRows(limited.stdout)).toEqual(flowRows(one.stdout));
  });

  it('go by their first and last file in what analyze says of them', () => {
    const run = spawnSync(process.execPath, [cli, 'analyze', ...rotated], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(new RegExp(`^${escape(rotated[0])} \\+ … \\+ ${escape(rotated[299])} \\(300 captures\\): 30000 packets, \\d+ flows, \\d+ events$`));
  });

  it('are read one open file at a time, in time order', () => {
    const before = openFiles();
    const stream = new CaptureStream(rotated);
    let most = openFiles() - before;
    let last = -Infinity;
    let packets = 0;
    stream.forEach((event) => {
      if (event.kind !== 'packet') return;
      expect(event.t).toBeGreaterThanOrEqual(last);
      last = event.t;
      if (++packets % 50 === 0) most = Math.max(most, openFiles() - before);
    });
    stream.close();
    expect(packets).toBe(30_000);
    expect(most).toBeLessThanOrEqual(2);
    expect(openFiles()).toBe(before);
  });

  it('peak in memory as the one capture does (import of 150 files of 1 MB)', () => {
    const big = join(scratch(), 'big.pcap');
    writeTrafficPcap(big, { packets: 200_000, concurrentFlows: 2_000 });
    const files = rotate(big, 1_334);
    const peak = (inputs: string[]) => {
      const run = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, cli, 'import', ...inputs, '-o', join(scratch(), 'out.npsession')], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      // The first ten inputs by name, then how many more.
      if (inputs.length > 20) expect(run.stdout.trim().split('\n').at(-1)).toMatch(/^… 140 more inputs \(netprov inspect \S+ names them all\)$/);
      return Number(run.stderr.trim().split('\n').at(-1)) / 1024;
    };
    const one = peak([big]);
    const all = peak(files);
    expect(files.length).toBe(150);
    // All of them open at once: their first windows alone were 150 MB.
    expect(all).toBeLessThan(one + 50);
  });

  it('refuse a file replaced, changed at its start or removed while it waited its turn', () => {
    const [first, second] = rotated;
    const dir = scratch();
    const copy = (from: string, name: string) => {
      const to = join(dir, name);
      writeFileSync(to, readFileSync(from));
      return to;
    };
    const a = copy(first, 'a.pcap');
    const b = copy(second, 'b.pcap');
    const replaced = new CaptureStream([a, b]);
    // Another file under b's name, as a ring buffer of rotated files (tcpdump -W) reuses it.
    renameSync(copy(second, 'other.pcap'), b);
    expect(() => replaced.forEach(() => {})).toThrow(new InputError(`${b}: replaced by another file while netprov was reading it`));
    replaced.close();

    const changed = new CaptureStream([a, b]);
    const bytes = readFileSync(b);
    const firstSecond = bytes.readUInt32LE(24);
    bytes.writeUInt32LE(firstSecond + 1, 24);
    writeFileSync(b, bytes);
    expect(() => changed.forEach(() => {})).toThrow(new InputError(`${b}: changed while netprov was reading it (its first event is no longer at ${firstSecond} s)`));
    changed.close();

    const removed = new CaptureStream([a, b]);
    rmSync(b);
    expect(() => removed.forEach(() => {})).toThrow(new InputError(`${b}: removed while netprov was reading it`));
    removed.close();
  });
});
