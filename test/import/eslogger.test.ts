import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFiles } from '../../recorder/import/index.js';
import { parseIsoTime } from '../../recorder/import/eslogger.js';
import { repoRoot, scratch } from '../helpers/paths.js';
import { readSession } from '../helpers/session.js';

const sample = join(repoRoot, 'test/data/eslogger-sample.jsonl');

describe('eslogger import', () => {
  const out = join(scratch(), 'es.npsession');
  importFiles([sample], out);
  const { header, events } = readSession(out);

  it('starts the session at the first message, exactly', () => {
    expect(header.startNs).toBe(1714557601123456789n); // 2024-05-01T10:00:01.123456789Z
    expect(events[0].t).toBe(0);
  });

  it('reads exec, fork and exit from both audit token layouts, keyed by pid and pidversion', () => {
    const summary = events.map((e) => {
      switch (e.kind) {
        case 'process': return ['process', e.key, e.path, e.signingId, e.parentKey];
        case 'fork': return ['fork', e.parentKey, e.childKey];
        case 'exec': return ['exec', e.formerKey, e.key, e.path, e.argv?.join(' '), e.uid, e.teamId, e.cdhash, e.isPlatformBinary];
        case 'exit': return ['exit', e.key, e.status];
        case 'loss': return ['loss', e.source, e.count];
        default: return [e.kind];
      }
    });
    expect(summary).toEqual([
      ['process', '900.11', '/bin/zsh', 'com.apple.zsh', '1.1'],
      ['fork', '900.11', '4242.20'],
      ['exec', '4242.20', '4242.21', '/usr/bin/curl', 'curl -s https://example.com', 501, null, 'bb22', true],
      ['exit', '4242.21', 0],
      ['loss', 'es-sequence', 3],
      ['fork', '900.11', '4242.30'],
      ['exec', '4242.30', '4242.31', '/opt/homebrew/bin/python3', 'python3 -c import urllib.request', 501, 'DJ8M8E7T6Q', 'cc33', false],
      ['exit', '4242.31', 256],
    ]);
  });

  it('never merges two processes that reused a pid', () => {
    const keys = events.flatMap((e) => (e.kind === 'exec' ? [e.key] : []));
    expect(new Set(keys).size).toBe(2);
    expect(events.filter((e) => e.kind === 'exec').map((e) => e.kind === 'exec' && e.pid)).toEqual([4242, 4242]);
  });

  it('skips a line that is not JSON, names its line number, and counts it as a loss', () => {
    const dir = scratch();
    const broken = join(dir, 'broken.jsonl');
    const lines = readFileSync(sample, 'utf8').split('\n');
    lines.splice(2, 0, '{"event": {"exec": truncated');
    writeFileSync(broken, lines.join('\n'));
    const result = importFiles([broken], join(dir, 'out'));
    expect(result.warnings).toContain(`${broken}: line 3: not JSON; skipped`);
    const { events: got } = readSession(join(dir, 'out'));
    expect(got.filter((e) => e.kind === 'loss').map((e) => e.kind === 'loss' && e.count)).toEqual([3, 1]);
  });

  it('skips a line longer than 16 MiB as it streams by, naming it, and reads on after it', () => {
    const dir = scratch();
    const huge = join(dir, 'huge.jsonl');
    const lines = readFileSync(sample, 'utf8').split('\n');
    lines.splice(2, 0, `{"pad": "${'x'.repeat(17 << 20)}"}`);
    writeFileSync(huge, lines.join('\n'));
    const result = importFiles([huge], join(dir, 'out'));
    expect(result.warnings).toContain(`${huge}: line 3: longer than 16 MiB; skipped`);
    const { events: got } = readSession(join(dir, 'out'));
    expect(got.filter((e) => e.kind === 'exec')).toHaveLength(2); // the lines after it were read
    // A file that ends inside such a line says so.
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, `${lines.slice(0, 2).join('\n')}\n{"pad": "${'x'.repeat(17 << 20)}`);
    expect(importFiles([cut], join(dir, 'out-cut')).warnings).toContain(`${cut}: line 3: longer than 16 MiB and cut by the end of the file; skipped`);
  });

  it('parses ISO times exactly, with or without fraction and zone offsets', () => {
    expect(parseIsoTime('2024-05-01T10:00:01.123456789Z')).toEqual([1714557601, 123456789]);
    expect(parseIsoTime('2024-05-01T10:00:01Z')).toEqual([1714557601, 0]);
    expect(parseIsoTime('2024-05-01T12:00:01.5+02:00')).toEqual([1714557601, 500000000]);
    expect(parseIsoTime('yesterday')).toBeNull();
  });
});
