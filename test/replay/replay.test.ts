import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../recorder/replay/clock.js';
import { replay } from '../../recorder/replay/replay.js';
import type { SessionEvent } from '../../recorder/session/events.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { MemorySink } from '../../recorder/session/sink.js';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';
import { S, SyntheticSession } from '../helpers/synthetic.js';

const fixture = join(repoRoot, 'fixtures/macos-curl.npsession');
const normalise = (e: SessionEvent) => (e.kind === 'packet' ? { ...e, data: Buffer.from(e.data).toString('hex') } : e);
const eventsOf = (path: string) => [...SessionReader.open(path).events()].map(normalise);

describe('netprov replay', () => {
  it('orders events by session time, then file position, and filters by time and kind', async () => {
    const s = new SyntheticSession('unordered.npsession');
    // Written out of order on purpose (a capture merged badly): replay must sort it.
    s.add({ kind: 'mark', t: 3 * S, text: 'c' });
    s.add({ kind: 'mark', t: 1 * S, text: 'a' });
    s.add({ kind: 'mark', t: 1 * S, text: 'a2' });
    s.add({ kind: 'loss', t: 2 * S, source: 'x', count: 1, reason: 'r' });
    const path = s.write();
    const run = netprov(['replay', path, '--format', 'ndjson', '--speed', 'max', '--from', '0.5', '--until', '2.5']);
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0].header.sessionId).toBeTruthy();
    expect(lines.slice(1).map((e) => e.text ?? e.kind)).toEqual(['a', 'a2', 'loss']);
    const kinds = netprov(['replay', path, '--format', 'ndjson', '--speed', 'max', '--kinds', 'loss']);
    expect(kinds.stdout.trim().split('\n').slice(1).map((l) => JSON.parse(l).kind)).toEqual(['loss']);
    const bad = netprov(['replay', path, '--kinds', 'bogus']);
    expect(bad.stderr).toMatch(/^netprov: --kinds: no event kind bogus/);
  });

  it('paces events by the recorded times on a virtual clock, scaled by --speed', async () => {
    const clock = new VirtualClock();
    await replay(fixture, new MemorySink(), { speed: 10, format: 'msgpack', clock });
    const times = [...SessionReader.open(fixture).events()].map((e) => e.t);
    const expected = [...new Set(times.map((t) => (t - times[0]) / 1e6 / 10))].filter((ms) => ms > 0);
    expect(clock.sleeps).toEqual(expected);
  });

  it('reproduces recorded timing in real time: drift under 5 ms over 60 s', { timeout: 90_000 }, async () => {
    const s = new SyntheticSession('paced.npsession');
    for (let i = 0; i <= 60; i++) s.add({ kind: 'mark', t: i * S + (i % 7) * 1_000_000, text: `tick ${i}` });
    const path = s.write();
    // The replay runs as a user runs it, in its own process; this one only notes arrivals.
    const child = spawn(process.execPath, [join(repoRoot, 'bin/netprov.js'), 'replay', path, '--format', 'ndjson', '--speed', '1']);
    const arrivals: { at: number; t: number }[] = [];
    let buffered = '';
    child.stdout.on('data', (data: Buffer) => {
      const at = performance.now();
      buffered += data.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const event = JSON.parse(line);
        if (event.kind === 'mark') arrivals.push({ at, t: event.t });
      }
    });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(arrivals).toHaveLength(61);
    // Each event's offset between arrival and recorded time: a replay that keeps time holds it
    // constant. Drift is how far that offset moves over the 60 s, from a least-squares line
    // through all 61 (one event delayed by this machine's scheduler shifts a line little, and
    // says nothing of the replay's clock); the typical event must also land within 5 ms.
    const points = arrivals.map((a) => ({ x: (a.t - arrivals[0].t) / 1e9, y: a.at - a.t / 1e6 }));
    const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
    const mx = mean(points.map((p) => p.x));
    const my = mean(points.map((p) => p.y));
    const slope = points.reduce((sum, p) => sum + (p.x - mx) * (p.y - my), 0) / points.reduce((sum, p) => sum + (p.x - mx) ** 2, 0);
    const drift = Math.abs(slope * 60);
    const deviations = points.map((p) => Math.abs(p.y - (my + slope * (p.x - mx)))).sort((a, b) => a - b);
    const report = `drift ${drift.toFixed(2)} ms over 60 s; deviations from the line (ms): ${deviations.map((d) => d.toFixed(1)).join(' ')}`;
    expect(drift, report).toBeLessThan(5);
    expect(deviations[30], report).toBeLessThan(5);
  });

  it('records what a replay serves on a Unix socket: the same events', async () => {
    const dir = scratch();
    const socket = join(dir, 'np.sock');
    const copy = join(dir, 'copy.npsession');
    const server = spawn(process.execPath, [join(repoRoot, 'bin/netprov.js'), 'replay', fixture, '--to', `unix:${socket}`, '--speed', 'max']);
    const recorded = netprov(['record', '--source', `unix:${socket}`, '-o', copy]);
    await new Promise((resolve) => server.once('exit', resolve));
    expect(recorded.status, recorded.stderr).toBe(0);
    expect(recorded.stdout).toMatch(/^wrote .*copy\.npsession: 30 events in \d+ frames\n$/);
    expect(eventsOf(copy)).toEqual(eventsOf(fixture));
    expect(SessionReader.open(copy).header.sessionId).toBe(SessionReader.open(fixture).header.sessionId);
  });
});
