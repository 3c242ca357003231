/**
 * The shared stream writer (sysex/common/np_stream.c) from four threads at once, under
 * ThreadSanitizer: every event arrives whole, in well-formed frames the session reader accepts,
 * each thread's events in its own order; an event too large for a chunk is counted as lost, not
 * split or silently dropped.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SessionReader } from '../../recorder/session/reader.js';
import { repoRoot, scratch } from '../helpers/paths.js';

describe('sysex/common stream writer', () => {
  it('frames events from several threads into a session the reader accepts, losing none silently', () => {
    const common = join(repoRoot, 'sysex/common');
    const binary = join(scratch(), 'stream');
    const session = join(scratch(), 'threads.npsession');
    execFileSync('cc', ['-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-O1', '-g', '-fsanitize=thread', `-I${common}`,
      join(common, 'np_session.c'), join(common, 'np_stream.c'), join(common, 'test/stream.c'), '-o', binary, '-lpthread']);
    const printed = execFileSync(binary, [session], { encoding: 'utf8', env: { ...process.env, TSAN_OPTIONS: 'halt_on_error=1' } });
    expect(printed).toBe(`marks=4000 packets=4000 lost=4 bytes=${statSync(session).size} failed=0\n`);

    const reader = SessionReader.open(session);
    const marks = new Map<string, number[]>();
    let packets = 0;
    for (const event of reader.events()) {
      if (event.kind === 'packet') packets++;
      if (event.kind !== 'mark') continue;
      const [, thread, index] = /^thread (\d+) event (\d+)$/.exec(event.text)!;
      marks.set(thread, [...(marks.get(thread) ?? []), Number(index)]);
    }
    expect(packets).toBe(4000);
    expect(marks.size).toBe(4);
    for (const indexes of marks.values()) expect(indexes).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(reader.report.problems).toEqual([]);
    expect(reader.report.trailer).toMatchObject({ endT: 1000, losses: 4, counts: { mark: 4000, packet: 4000 } });
    expect(reader.header.sensor).toEqual({ name: 'stream-test', version: '0' });
    expect(reader.header.startNs).toBe(1700000000123456789n);
  });
});
