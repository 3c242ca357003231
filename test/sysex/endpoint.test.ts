/**
 * The platform-free pieces of the endpoint sensors (sysex/common/np_endpoint.c): audit tokens,
 * sequence gaps, the locked process/flow table, packet 5-tuples, link types from interface types. Built here with AddressSanitizer and
 * UndefinedBehaviorSanitizer, and again with ThreadSanitizer for the concurrent table test.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, scratch } from '../helpers/paths.js';

function buildAndRun(sanitizers: string, unit = 'endpoint'): string {
  const common = join(repoRoot, 'sysex/common');
  const out = join(scratch(), unit);
  execFileSync('cc', ['-std=c11', '-D_POSIX_C_SOURCE=200809L', '-Wall', '-Wextra', '-Werror', '-O1', '-g', `-fsanitize=${sanitizers}`,
    join(common, `np_${unit}.c`), join(common, `test/${unit}.c`), '-o', out, '-lpthread']);
  return execFileSync(out, { encoding: 'utf8', env: { ...process.env, TSAN_OPTIONS: 'halt_on_error=1', ASAN_OPTIONS: 'detect_leaks=1' } });
}

describe('sysex/common endpoint pieces', () => {
  it('pass their checks under AddressSanitizer and UndefinedBehaviorSanitizer', () => {
    expect(buildAndRun('address,undefined')).toBe('65 passed, 0 failed\n');
  });

  it('pass their checks, concurrent table use included, under ThreadSanitizer', () => {
    expect(buildAndRun('thread')).toBe('65 passed, 0 failed\n');
  });
});

describe('sysex/common recordings (np_recording.c)', () => {
  it('keep their owner, describe each process once per recording, freeze losses at stop: ASan/UBSan', () => {
    expect(buildAndRun('address,undefined', 'recording')).toBe('30 passed, 0 failed\n');
  });

  it('and from four handler threads at once under ThreadSanitizer', () => {
    expect(buildAndRun('thread', 'recording')).toBe('30 passed, 0 failed\n');
  });
});

describe('sysex/macos C module', () => {
  it('compiles from the Swift package\'s CNetprov target and links: the headers Swift imports resolve to sysex/common', () => {
    const target = join(repoRoot, 'sysex/macos/Sources/CNetprov');
    const dir = scratch();
    const objects = ['np_session', 'np_stream', 'np_endpoint', 'np_recording'].map((name) => {
      const object = join(dir, `${name}.o`);
      execFileSync('cc', ['-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-c', join(target, `${name}.c`), '-o', object]);
      return object;
    });
    const program = join(dir, 'module.c');
    writeFileSync(program, `#include "CNetprov.h"
#include <stdio.h>
int main(void) {
    uint32_t words[8] = {0, 0, 0, 0, 0, 321, 0, 9};
    np_audit_token token = np_audit_token_decode((const uint8_t *)words);
    char key[NP_KEY_MAX];
    np_process_key(&token, key, sizeof key);
    np_tuple t = np_tuple_make(6, "10.0.0.1", 1, "10.0.0.2", 2);
    np_recording *r = np_recording_new(8);
    np_recording_start(r, 1);
    printf("%s %u %d\\n", key, t.remote_port, np_recording_introduce(r, key));
    np_recording_free(r);
    return 0;
}
`);
    execFileSync('cc', ['-std=c11', '-Wall', '-Werror', `-I${join(target, 'include')}`, program, ...objects, '-o', join(dir, 'module'), '-lpthread']);
    expect(execFileSync(join(dir, 'module'), { encoding: 'utf8' })).toBe('321.9 2 1\n');
  });
});
