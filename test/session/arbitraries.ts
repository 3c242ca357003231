/** fast-check generators for every event kind, shaped by the spec's field types. */
import fc from 'fast-check';
import type { SessionEvent } from '../../recorder/session/events.js';

const t = fc.integer({ min: -1e15, max: 2 ** 53 - 1 });
const int = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 32 }), fc.maxSafeInteger(), fc.integer({ min: 0, max: 2 ** 53 - 1 }));
const u16 = fc.integer({ min: 0, max: 65535 });
const str = fc.string({ unit: 'binary', maxLength: 40 });
const nstr = fc.option(str, { nil: null });
const nint = fc.option(int, { nil: null });
const dir = fc.constantFrom(0 as const, 1 as const, 2 as const);
const addr = fc.oneof(fc.ipV4(), fc.ipV6());

const image = {
  key: str,
  pid: int,
  version: nint,
  ppid: nint,
  parentKey: nstr,
  uid: nint,
  path: nstr,
  argv: fc.option(fc.array(str, { maxLength: 6 }), { nil: null }),
  signingId: nstr,
  teamId: nstr,
  cdhash: nstr,
  isPlatformBinary: fc.option(fc.boolean(), { nil: null }),
};
const tuple = { protocol: fc.integer({ min: 0, max: 255 }), localAddr: addr, localPort: u16, remoteAddr: addr, remotePort: u16 };

const cgroup = { cgroupId: nint, cgroupPath: nstr };

export const anyEvent: fc.Arbitrary<SessionEvent> = fc.oneof(
  fc.record({ kind: fc.constant('interface' as const), t, id: int, name: str, linkType: int, snapLen: int, netns: nint }),
  fc.record({ kind: fc.constant('process' as const), t, ...image, ...cgroup }),
  fc.record({ kind: fc.constant('exec' as const), t, ...image, formerKey: nstr, ...cgroup }),
  fc.record({ kind: fc.constant('fork' as const), t, childKey: str, childPid: int, childVersion: nint, parentKey: str, parentPid: int, ...cgroup }),
  fc.record({ kind: fc.constant('exit' as const), t, key: str, pid: int, status: nint }),
  fc.record({
    kind: fc.constant('flowOpen' as const), t, flowId: str, processKey: nstr, ...tuple, direction: dir,
    origin: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const, 5 as const, 6 as const), remoteHost: nstr, netns: nint,
  }),
  fc.record({ kind: fc.constant('flowClose' as const), t, flowId: str, processKey: nstr, ...tuple, bytesIn: nint, bytesOut: nint }),
  fc.record({
    kind: fc.constant('packet' as const), t, interfaceId: int, direction: dir, origLen: int,
    data: fc.uint8Array({ maxLength: 300 }), processKey: nstr,
  }),
  fc.record({ kind: fc.constant('loss' as const), t, source: str, count: int, reason: str }),
  fc.record({ kind: fc.constant('clockSync' as const), t, clock: str, value: int, note: nstr }),
  fc.record({ kind: fc.constant('mark' as const), t, text: str }),
);
