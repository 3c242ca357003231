/**
 * A session spans whatever its inputs do: times from 1970 to pcapng's 2554 import exactly, and
 * events far apart keep their exact times (past 2^53 ns from the start, 64-bit integers in the
 * file). Only what no 64-bit clock holds is refused, in one line, never with a crash.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFiles } from '../../recorder/import/index.js';
import { inspect } from '../../recorder/inspect.js';
import { analyzeToRows } from '../helpers/analyze.js';
import { pcapFile, pcapngFile, type CapturePacket } from '../helpers/capture-writer.js';
import { netprov } from '../helpers/cli.js';
import { udpFrame } from '../helpers/frames.js';
import { repoRoot, scratch } from '../helpers/paths.js';
import { SessionReader } from '../../recorder/session/reader.js';

const packet = (ns: bigint, sport: number): CapturePacket => ({ ns, data: udpFrame('10.0.0.1', '10.0.0.2', sport, 53, Buffer.from('hello')) });

describe('time span', () => {
  it('imports 1970, 2023 and 2106 in one pcap, exactly, and analyses it', async () => {
    const dir = scratch();
    const capture = join(dir, 'span.pcap');
    writeFileSync(capture, pcapFile([packet(1_000_000_123_000n, 1000), packet(1_688_348_003_123_456_789n, 1001), packet(4_294_967_295_999_999_999n, 1002)], { littleEndian: true, nanos: true, linkType: 1 }));
    const session = join(dir, 'span.npsession');
    importFiles([capture], session);
    const report = inspect(session, false);
    expect([report.first, report.last]).toEqual(['1970-01-01T00:16:40.000123000Z', '2106-02-07T06:28:15.999999999Z']);
    // Every packet's exact time is in the file: read back as the integer offset it was written as.
    const reader = SessionReader.open(session);
    const times = [...reader.chunks()].flat().filter((e) => e.kind === 'packet').map((e) => e.tExact ?? BigInt(e.t));
    expect(times).toEqual([0n, 1_688_347_003_123_333_789n, 4_294_966_295_999_876_999n]);
    const rows = await analyzeToRows(capture);
    expect(rows.map((r) => [r.ts, r['id.orig_p']])).toEqual([['1000.000123', '1000'], ['1688348003.123456', '1001'], ['4294967295.999999', '1002']]);
  });

  it('gives every output of a session spanning 1970 to 2106 (times past 2^53 ns are bigints) without a crash', () => {
    const dir = scratch();
    const capture = join(dir, 'span.pcap');
    writeFileSync(capture, pcapFile([packet(1_000_000_123_000n, 1000), packet(1_688_348_003_123_456_789n, 1001), packet(4_294_967_295_999_999_999n, 1002)], { littleEndian: true, nanos: true, linkType: 1 }));
    const session = join(dir, 'span.npsession');
    importFiles([capture], session);
    const db = join(dir, 'span.duckdb');
    expect(netprov(['analyze', session, '--db', db]).status).toBe(0);
    const outputs = [
      ['flows', '--format', 'json'], ['flows', '--format', 'zeek'], ['sql', 'SELECT * FROM packets', '--format', 'json'], ['query', 'rare-destinations', '--format', 'json'],
      ['report', '-o', join(dir, 'report.html')], ['export', '--zeek', join(dir, 'zeek')], ['export', '--ocsf', join(dir, 'ocsf.jsonl')], ['export', '--parquet', join(dir, 'parquet')],
    ];
    for (const args of outputs) {
      const run = netprov([...args, '--db', db]);
      expect(run.status, `${args.join(' ')}: ${run.stderr}`).toBe(0);
    }
    // A window past 2262, where DuckDB's nanosecond timestamps end (a pcapng's clock reaches 2554).
    const timeline = netprov(['query', 'timeline', '--param', 'from=1970-01-01', '--param', 'until=2554-01-01', '--db', db, '--format', 'csv']);
    expect(timeline.status, timeline.stderr).toBe(0);
    expect(timeline.stdout.split('\n').filter((l) => l.includes(',flow,'))).toHaveLength(3);
    // The page draws times as numbers; the last flow's start is 136 years after the first's.
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/"start_t":4294966295999877000[,}]/);
    // Replayed as JSON lines, exact: a time past 2^53 ns as tExact's decimal string.
    const replayed = netprov(['replay', session, '--speed', 'max', '--format', 'ndjson']);
    expect(replayed.status, replayed.stderr).toBe(0);
    const packets = replayed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind?: string; tExact?: string }).filter((e) => e.kind === 'packet');
    expect(packets.map((e) => e.tExact ?? null)).toEqual([null, '1688347003123333789', '4294966295999876999']);
  });

  it('imports a pcapng from the year 2540 (past 2^63 ns since 1970) and analyses it', async () => {
    const dir = scratch();
    const capture = join(dir, 'far.pcapng');
    writeFileSync(capture, pcapngFile([{ linkType: 1, name: 'eth0', tsresol: 9 }], [packet(18_000_000_000_000_000_123n, 1000), packet(18_000_000_000_000_001_123n, 1000)], { littleEndian: true }));
    const session = join(dir, 'far.npsession');
    importFiles([capture], session);
    expect(inspect(session, false).header.startNs).toBe('18000000000000000123');
    const rows = await analyzeToRows(capture);
    expect(rows.map((r) => [r.ts, r.duration, r.orig_pkts])).toEqual([['18000000000.000000', '0.000001', '2']]);
  });

  it('imports 1970 and 2540 together exactly; the analysis, which holds ±292 years, says so in one line', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'old.pcap'), pcapFile([packet(1_000_000_000n, 1)], { littleEndian: true, nanos: true, linkType: 1 }));
    writeFileSync(join(dir, 'new.pcapng'), pcapngFile([{ linkType: 1, name: 'eth0', tsresol: 9 }], [packet(18_000_000_000_000_000_000n, 2)], { littleEndian: true }));
    const session = join(dir, 'both.npsession');
    const imported = netprov(['import', join(dir, 'old.pcap'), join(dir, 'new.pcapng'), '-o', session]);
    expect(imported.status, imported.stderr).toBe(0);
    const report = inspect(session, false);
    expect([report.first, report.last]).toEqual(['1970-01-01T00:00:01.000000000Z', '2540-05-25T08:00:00.000000000Z']);
    const analysed = netprov(['analyze', session]);
    expect(analysed.status).toBe(1);
    expect(analysed.stderr.trim().split('\n')).toHaveLength(1);
    expect(analysed.stderr).toMatch(/570 years from the session start; the analysis holds ±292 years/);
  });

  it('skips, with a warning and a loss, an eslogger time no session clock holds (the year 9999, the year 24)', () => {
    const dir = scratch();
    const sample = readFileSync(join(repoRoot, 'test/data/eslogger-sample.jsonl'), 'utf8').split('\n').filter(Boolean);
    const late = { ...JSON.parse(sample[1]), time: '9999-12-31T23:59:59.000000000Z' };
    const early = { ...JSON.parse(sample[2]), time: '0024-05-01T10:00:01.123456789Z' }; // found by npm run fuzz
    writeFileSync(join(dir, 'es.json'), `${sample[0]}\n${JSON.stringify(late)}\n${JSON.stringify(early)}\n${sample.slice(3).join('\n')}\n`);
    const session = join(dir, 'es.npsession');
    const run = netprov(['import', join(dir, 'es.json'), '-o', session]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/field time 9999-12-31T23:59:59\.000000000Z is outside what a session's clock holds/);
    expect(run.stderr).toMatch(/field time 0024-05-01T10:00:01\.123456789Z is outside/);
    expect(inspect(session, false).losses.filter((l) => l.source.startsWith('import:')).reduce((n, l) => n + l.count, 0)).toBe(2);
  });

  it('refuses, in one line, events no 64-bit clock can place together (1678 and 2550)', () => {
    const dir = scratch();
    const sample = readFileSync(join(repoRoot, 'test/data/eslogger-sample.jsonl'), 'utf8').split('\n').filter(Boolean);
    const first = { ...JSON.parse(sample[0]), time: '1678-01-01T00:00:00.000000000Z' };
    const last = { ...JSON.parse(sample[1]), time: '2550-01-01T00:00:00.000000000Z' };
    writeFileSync(join(dir, 'es.json'), `${JSON.stringify(first)}\n${JSON.stringify(last)}\n`);
    const run = netprov(['import', join(dir, 'es.json'), '-o', join(dir, 'es.npsession')]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/es\.json: event at 18303062400 s since 1970 is more than 584 years from the session start/);
  });

  it('gives a pcapng simple packet block its interface\'s last time, and keeps a time-0 statistics block as a loss', () => {
    const dir = scratch();
    const capture = join(dir, 'spb.pcapng');
    const t = 1_700_000_000_500_000_000n;
    writeFileSync(capture, pcapngFile([{ linkType: 1, name: 'eth0', tsresol: 9 }], [packet(t, 1), { ...packet(0n, 2), simple: true }], { littleEndian: true, drops: { interface: 0, count: 7n, timeZero: true } }));
    const session = join(dir, 'spb.npsession');
    importFiles([capture], session);
    const events = [...SessionReader.open(session).chunks()].flat();
    expect(events.filter((e) => e.kind === 'packet').map((e) => e.t)).toEqual([0, 0]);
    expect(events.filter((e) => e.kind === 'loss').map((e) => [e.t, e.kind === 'loss' && e.count])).toEqual([[0, 7]]);
    expect(inspect(session, false).first).toBe('2023-11-14T22:13:20.500000000Z');
  });
});
