/**
 * Straight from captures: `analyze capture.pcap` streams the capture through the same pipeline
 * as its session and concludes the same; `--save` writes the session `import` writes, byte for
 * byte; gzip is inflated as it is read, in constant memory; damage part-way is analysed up to it
 * with one warning naming the offset; and the packets of such a session stay reachable.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeScanPcap } from '../bench/traffic.js';
import { largeGzipCapture } from '../helpers/capture-writer.js';
import { netprov } from '../helpers/cli.js';
import { oracleDir, scratch } from '../helpers/paths.js';

const capture = join(oracleDir, 'zeek/http-get.pcap');
const eslogger = resolve(import.meta.dirname, '../data/eslogger-sample.jsonl');
const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const cli = resolve(import.meta.dirname, '../../bin/netprov.js');

/** The analysis JSON without what only a session file has (its chunk count). */
function analysisOf(json: string): unknown {
  const document = JSON.parse(json);
  for (const s of document.sessions) delete s.chunks_good;
  return document;
}

/**
 * Runs the CLI in a child process and returns its exit status, stderr and peak RSS in MiB: the
 * main thread's VmHWM at exit, through a module preloaded with --import (worker threads load it
 * too, and print nothing). getrusage's maxrss would carry the forking test process's own peak
 * across exec.
 */
const peakAtExit = `data:text/javascript,${encodeURIComponent(
  "import { isMainThread } from 'node:worker_threads'; import { readFileSync } from 'node:fs';" +
    " if (isMainThread) process.on('exit', () => process.stderr.write('peak-rss ' + /VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1] + '\\n'));",
)}`;

function withPeakRss(args: string[]): { status: number | null; stderr: string; peakMiB: number } {
  const run = spawnSync(process.execPath, ['--import', peakAtExit, cli, ...args], { encoding: 'utf8' });
  const kib = Number(/peak-rss (\d+)/.exec(run.stderr)?.[1] ?? NaN);
  return { status: run.status, stderr: run.stderr, peakMiB: kib / 1024 };
}

let dir: string;
beforeAll(() => {
  dir = scratch();
});

describe('analyze straight from captures', () => {
  it('concludes what the imported session concludes', () => {
    const session = join(dir, 'imported.npsession');
    expect(netprov(['import', capture, '-o', session]).status).toBe(0);
    const fromSession = netprov(['analyze', session, '--json', '-']);
    const fromCapture = netprov(['analyze', capture, '--json', '-']);
    expect(fromCapture.status, fromCapture.stderr).toBe(0);
    expect(analysisOf(fromCapture.stdout)).toEqual(analysisOf(fromSession.stdout));
    expect((analysisOf(fromCapture.stdout) as { flows: unknown[] }).flows.length).toBeGreaterThan(0);
  });

  it('gives the same analysis on every run (the session id comes from the inputs)', () => {
    const first = netprov(['analyze', capture, eslogger, '--json', '-']);
    const second = netprov(['analyze', capture, eslogger, '--json', '-']);
    expect(first.status, first.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
  });

  it('--save writes the very bytes import writes, for several inputs and gzip', () => {
    const gz = join(dir, 'http-get.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(capture)));
    const imported = join(dir, 'both.npsession');
    const saved = join(dir, 'saved.npsession');
    expect(netprov(['import', gz, eslogger, '-o', imported]).status).toBe(0);
    const run = netprov(['analyze', gz, eslogger, '--save', saved]);
    expect(run.status, run.stderr).toBe(0);
    expect(digest(saved)).toBe(digest(imported));
  });

  it('--save refuses an input as its output, and leaves nothing when the analysis fails', () => {
    const copy = join(dir, 'copy.pcap');
    writeFileSync(copy, readFileSync(capture));
    const run = netprov(['analyze', copy, '--save', copy]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/one of the inputs/);
    expect(digest(copy)).toBe(digest(capture));
    const nothing = join(dir, 'never.npsession');
    expect(netprov(['analyze', copy, join(dir, 'missing.pcap'), '--save', nothing]).status).toBe(1);
    expect(existsSync(nothing)).toBe(false);
  });

  it('takes session files and captures together: the captures one session, each session file its own', () => {
    const session = join(dir, 'other.npsession');
    expect(netprov(['import', eslogger, '-o', session]).status).toBe(0);
    const run = netprov(['analyze', session, capture, '--json', '-']);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).sessions).toHaveLength(2);
  });

  it('exports a flow of a capture analysed directly, reading the packets from the capture again', () => {
    const db = join(dir, 'direct.duckdb');
    expect(netprov(['analyze', capture, '--db', db]).status).toBe(0);
    const flows = netprov(['flows', '--db', db, '--format', 'json']).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const out = join(dir, 'flow.pcapng');
    const run = netprov(['export', '--db', db, '--pcap', out, '--flow', flows[0].uid]);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(out).length).toBeGreaterThan(100);
  });

  it('refuses what is neither a session nor a capture, naming the file', () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a capture\n');
    const run = netprov(['analyze', text]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/notes\.txt: neither a netprov session nor a pcap/);
  });
});

describe('gzip, streamed', () => {
  it('imports a 1 GB capture from a 1 MB gzip in bounded memory', () => {
    const gz = join(dir, 'large.pcap.gz');
    const member = largeGzipCapture();
    writeFileSync(gz, member);
    expect(member.length).toBeLessThan(8 << 20);
    const session = join(dir, 'large.npsession');
    const run = withPeakRss(['import', gz, '-o', session]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.peakMiB).toBeLessThan(400);
    expect(netprov(['inspect', session]).stdout).toMatch(/700,?000 packets|packet\s+700,?000|700000/);
  }, 120_000);

  it('analyses a gzip corrupt part-way up to the damage, with one warning naming the offset', () => {
    const bytes = gzipSync(readFileSync(join(oracleDir, 'zeek/ftp-ipv4.pcap')));
    const broken = Buffer.from(bytes);
    broken.fill(0x55, Math.floor(broken.length * 0.6), Math.floor(broken.length * 0.6) + 64);
    const file = join(dir, 'broken.pcap.gz');
    writeFileSync(file, broken);
    const run = netprov(['analyze', file, '--json', '-']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/broken\.pcap\.gz: gzip stream is corrupt in compressed bytes \d+\.\.\d+/);
    const analysis = JSON.parse(run.stdout);
    expect(analysis.flows.length).toBeGreaterThan(0);
    expect(analysis.losses.some((l: { source: string }) => l.source.startsWith('import:'))).toBe(true);

    const cut = join(dir, 'cut.pcap.gz');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const cutRun = netprov(['analyze', cut]);
    expect(cutRun.status, cutRun.stderr).toBe(0);
    expect(cutRun.stderr).toMatch(/cut\.pcap\.gz: gzip stream ends early/);
  });

  it('refuses a gzip that holds no capture, in one line', () => {
    const file = join(dir, 'text.gz');
    writeFileSync(file, gzipSync(Buffer.from('hello\n')));
    const run = netprov(['analyze', file]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('memory', () => {
  it('sets DuckDB a memory limit from the machine, and a private spill folder', () => {
    const run = netprov(['sql', "SELECT current_setting('memory_limit') AS m, current_setting('temp_directory') AS d", capture, '--format', 'ndjson']);
    expect(run.status, run.stderr).toBe(0);
    const [row] = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(row.m).toMatch(/MiB|GiB|MB|GB/);
    expect(row.m).not.toMatch(/^1[0-9]\.\d+ GiB/); // not DuckDB's 80% of 24 GiB
    expect(row.d).toMatch(/netprov-spill-/);
  });

  it('holds at most 262,144 connections open: a scan of 300,000 SYNs in 0.6 s still gives each its S0 flow, and says so', () => {
    // Every SYN opens a connection that Zeek's attempt timer (5 s) keeps: the oldest idle go early.
    const scan = join(dir, 'scan.pcap');
    writeScanPcap(scan, 300_000);
    const db = join(dir, 'scan.duckdb');
    const run = withPeakRss(['analyze', scan, '--db', db]);
    expect(run.status, run.stderr).toBe(0);
    const message = "tracking: 37856 connections were retired before Zeek's timers would have retired them, to keep at most 262,144 open at once";
    expect(run.stderr).toContain(`${scan}: ${message}`);
    const counted = netprov(['sql', "SELECT count(*) AS flows, count(*) FILTER (conn_state = 'S0' AND history = 'S') AS attempts, (SELECT problems FROM sessions) AS problems FROM flows", '--db', db, '--format', 'ndjson']);
    const [row] = counted.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect([row.flows, row.attempts]).toEqual([300_000, 300_000]);
    expect(row.problems.some((p: string) => p.startsWith(message))).toBe(true);
    expect(run.peakMiB).toBeLessThan(1024);
  });
});
