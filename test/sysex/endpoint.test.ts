/**
 * The platform-free pieces of the endpoint sensors (sysex/common/np_endpoint.c): audit tokens,
 * sequence gaps, the locked process/flow table, packet 5-tuples. Built here with AddressSanitizer and
 * UndefinedBehaviorSanitizer, and again with ThreadSanitizer for the concurrent table test.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, scratch } from '../helpers/paths.js';

function buildAndRun(sanitizers: string): string {
  const common = join(repoRoot, 'sysex/common');
  const out = join(scratch(), 'endpoint');
  execFileSync('cc', ['-std=c11', '-D_POSIX_C_SOURCE=200809L', '-Wall', '-Wextra', '-Werror', '-O1', '-g', `-fsanitize=${sanitizers}`,
    join(common, 'np_endpoint.c'), join(common, 'test/endpoint.c'), '-o', out, '-lpthread']);
  return execFileSync(out, { encoding: 'utf8', env: { ...process.env, TSAN_OPTIONS: 'halt_on_error=1', ASAN_OPTIONS: 'detect_leaks=1' } });
}

describe('sysex/common endpoint pieces', () => {
  it('pass their checks under AddressSanitizer and UndefinedBehaviorSanitizer', () => {
    expect(buildAndRun('address,undefined')).toBe('45 passed, 0 failed\n');
  });

  it('pass their checks, concurrent table use included, under ThreadSanitizer', () => {
    expect(buildAndRun('thread')).toBe('45 passed, 0 failed\n');
  });
});
