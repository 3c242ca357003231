/**
 * The C encoder the sensors share (sysex/common) and the TypeScript writer produce the same
 * bytes for the same events: the C side is compiled and run here, the TS side is the real codec.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toWire } from '../../recorder/session/codec.js';
import { packr } from '../../recorder/session/msgpack.js';
import type { SessionEvent } from '../../recorder/session/events.js';
import { FrameType, encodeFrame } from '../../recorder/session/frame.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { repoRoot, scratch } from '../helpers/paths.js';

const data = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
const image = { ppid: null, parentKey: null, uid: null, path: null, argv: null, signingId: null, teamId: null, cdhash: null, isPlatformBinary: null };

/** The same list as sysex/common/test/vectors.c. */
const events: SessionEvent[] = [
  { kind: 'interface', t: 0, id: 0, name: 'eth0', linkType: 1, snapLen: 262144, netns: null },
  {
    kind: 'exec', t: 5_000_000_000, ...image, key: '4242@123456789', pid: 4242, version: 123456789, ppid: 1, uid: 1000, path: '/usr/bin/curl',
    argv: ['curl', '-s', 'https://example.com/é'], formerKey: null, cgroupId: 9876, cgroupPath: '/system.slice/docker-0123.scope',
  },
  { kind: 'fork', t: 5_000_000_001, childKey: '4243@123999999', childPid: 4243, childVersion: 123999999, parentKey: '4242@123456789', parentPid: 4242, cgroupId: 9876, cgroupPath: null },
  {
    kind: 'flowOpen', t: 5_000_100_000, flowId: 'cookie-17', processKey: '4242@123456789', protocol: 6, localAddr: '10.0.0.1', localPort: 40000,
    remoteAddr: '10.0.0.2', remotePort: 443, direction: 2, origin: 1, remoteHost: null, netns: 4026531840,
  },
  { kind: 'packet', t: 5_000_100_500, interfaceId: 0, direction: 2, origLen: 1514, data, processKey: null },
  { kind: 'packet', t: 5_000_100_600, interfaceId: 0, direction: 1, origLen: 60, data: new Uint8Array(0), processKey: '4242@123456789' },
  { kind: 'flowClose', t: 6_000_000_000, flowId: 'cookie-17', processKey: null, protocol: 6, localAddr: '10.0.0.1', localPort: 40000, remoteAddr: '10.0.0.2', remotePort: 443, bytesIn: 123456, bytesOut: 789 },
  { kind: 'exit', t: 7_000_000_000, key: '4242@123456789', pid: 4242, status: -1 },
  { kind: 'loss', t: 8_000_000_000, source: 'bpf-ringbuf', count: 70000, reason: 'x'.repeat(300) },
  { kind: 'clockSync', t: -129, clock: 'CLOCK_BOOTTIME', value: 9007199254740991, note: null },
  { kind: 'mark', t: 100, text: 'thirty-one bytes of text here!!' },
  { kind: 'mark', t: -33, text: 'thirty-two bytes of text here!!!' },
  {
    kind: 'process', t: 0, ...image, key: '501.7', pid: 501, version: 7, path: '/Applications/App.app/Contents/MacOS/App', signingId: 'com.example.app',
    teamId: 'ABCDE12345', cdhash: '00ff', isPlatformBinary: false, cgroupId: null, cgroupPath: null,
  },
];

function compileVectors(): string {
  const out = join(scratch(), 'vectors');
  const common = join(repoRoot, 'sysex/common');
  execFileSync('cc', ['-std=c11', '-D_POSIX_C_SOURCE=200809L', '-Wall', '-Wextra', '-Werror', '-O2', join(common, 'np_session.c'), join(common, 'test/vectors.c'), '-o', out, '-lpthread']);
  return out;
}

describe('sysex/common C encoder', () => {
  it('writes exactly the bytes of the TypeScript writer for every event kind', () => {
    const fromC = execFileSync(compileVectors(), { encoding: 'utf8' }).trim();
    const payload = Buffer.concat(events.map((e) => packr.pack(toWire(e))));
    const fromTs = encodeFrame(FrameType.events, 1, events.length, payload).toString('hex');
    expect(fromC).toBe(fromTs);
  });

  it('writes frames the session reader accepts and decodes back to the events', () => {
    const frame = Buffer.from(execFileSync(compileVectors(), { encoding: 'utf8' }).trim(), 'hex');
    const header = encodeFrame(FrameType.header, 0, 0, packr.pack({ format: 'netprov-session', version: [1, 0], session_id: 'c-vectors', host: 'h', sensor: { name: 'c', version: '0' }, start_ns: 0n, clock_notes: '' }));
    const session = Buffer.concat([Buffer.from([0x89, 0x4e, 0x50, 0x53, 0x0d, 0x0a, 0x1a, 0x0a]), header, frame]);
    const reader = SessionReader.fromBytes(session, 'c-vectors');
    const back = [...reader.events()].map((e) => (e.kind === 'packet' ? { ...e, data: Buffer.from(e.data) } : e));
    expect(back).toEqual(events.map((e) => (e.kind === 'packet' ? { ...e, data: Buffer.from(e.data) } : e)));
    expect(reader.report.problems).toEqual([]);
  });
});
