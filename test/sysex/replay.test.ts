/**
 * The system extension's core replayed (sysex/common/test/replay.c): what the Swift shell would
 * feed it — Endpoint Security exec/fork/exit, content-filter flows with their app's audit token,
 * packet-filter frames — in a given interleaving, through the same sysex/common calls; each
 * recording's session is then analysed by netprov and every flow must name the right
 * pid.pidversion. Built and run under AddressSanitizer + UndefinedBehaviorSanitizer, and under
 * ThreadSanitizer.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TCP, tcpFrame, udpFrame } from '../helpers/frames.js';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';

const common = join(repoRoot, 'sysex/common');

function build(sanitizers: string): string {
  const out = join(scratch(), `replay-${sanitizers.replace(/,/g, '-')}`);
  execFileSync('cc', [
    '-std=c11', '-D_POSIX_C_SOURCE=200809L', '-D_DEFAULT_SOURCE', '-Wall', '-Wextra', '-Werror', '-O1', '-g', `-fsanitize=${sanitizers}`,
    ...['np_endpoint.c', 'np_recording.c', 'np_stream.c', 'np_session.c', 'test/replay.c'].map((f) => join(common, f)), '-o', out, '-lpthread',
  ]);
  return out;
}

const second = (s: number) => BigInt(1_700_000_001 + s) * 1_000_000_000n;
const hex = (frame: Buffer) => frame.toString('hex');
const me = '192.168.1.20';

/** A TCP handshake and one request, as the packet filter sees them. */
function tcpPackets(at: number, sport: number, server: string): string[] {
  const c = { src: me, dst: server, sport, dport: 443 };
  const s = { src: server, dst: me, sport: 443, dport: sport };
  const frames = [
    tcpFrame({ ...c, seq: 1, ack: 0, flags: TCP.SYN }),
    tcpFrame({ ...s, seq: 9, ack: 2, flags: TCP.SYN | TCP.ACK }),
    tcpFrame({ ...c, seq: 2, ack: 10, flags: TCP.ACK | TCP.PSH, payload: 100 }),
  ];
  return frames.map((f, i) => `packet ${second(at) + BigInt(i) * 1000n} ${hex(f)}`);
}

function dnsPackets(at: number, sport: number): string[] {
  return [
    `packet ${second(at)} ${hex(udpFrame(me, '192.168.1.1', sport, 53, Buffer.alloc(30, 1)))}`,
    `packet ${second(at) + 5000n} ${hex(udpFrame('192.168.1.1', me, 53, sport, Buffer.alloc(46, 2)))}`,
  ];
}

const APP = 7;
const OTHER_CLIENT = 9;

/** One run of the extension: two recordings, pid reuse, a process that only talks, a second client. */
const scenario = [
  `running 0 300 1 1 /usr/sbin/mDNSResponder`, // alive long before; never execs, forks or exits while recorded
  `running 0 1 1 0 /sbin/launchd`,
  `start ${APP}`,
  `exec ${second(1)} 400 2 1 1 /usr/bin/curl`,
  `flow ${second(2)} F1 400 2 6 ${me} 50100 93.184.216.34 443`,
  `flow ${second(2) + 500n} F1 400 2 6 ${me} 50100 93.184.216.34 443`, // seen again once data flows: recorded once
  ...tcpPackets(2, 50100, '93.184.216.34'),
  `close ${second(2) + 900_000n} F1 1200 300`, // the close report carries no audit token: the table names the process
  `flow ${second(3)} F2 300 1 17 ${me} 53001 192.168.1.1 53`,
  ...dnsPackets(3, 53001),
  `stop ${OTHER_CLIENT}`, // another client may not end this recording
  `exit ${second(4)} 400 2 0`,
  `fork ${second(5)} 400 5 1 1`, // pid 400 again: a new instance
  `exec ${second(5) + 1000n} 400 6 5 1 /usr/bin/python3`,
  `flow ${second(6)} F3 400 6 6 ${me} 50101 151.101.0.223 443`,
  ...tcpPackets(6, 50101, '151.101.0.223'),
  `stop ${APP}`,
  `start ${OTHER_CLIENT}`, // a second recording in the same run
  `flow ${second(8)} F4 300 1 17 ${me} 53002 192.168.1.1 53`,
  ...dnsPackets(8, 53002),
  `stop ${OTHER_CLIENT}`,
].join('\n');

interface Analysis {
  flows: { orig_p: number; process_key: string | null; attribution_method: string | null }[];
  processes: { process_key: string; path: string | null }[];
}

function analysed(session: string): Analysis {
  const run = netprov(['analyze', session, '--json', '-']);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

describe.each([['address,undefined'], ['thread']])('the extension core replayed under -fsanitize=%s', (sanitizers) => {
  it('attributes every flow to its pid.pidversion, in both recordings, and keeps each recording to its owner', () => {
    const program = build(sanitizers);
    const dir = scratch();
    const printed = execFileSync(program, [dir], { input: scenario, encoding: 'utf8', env: { ...process.env, TSAN_OPTIONS: 'halt_on_error=1' } });
    expect(printed).toBe(`start ${APP} ok\nstop ${OTHER_CLIENT} refused\nstop ${APP} ok\nstart ${OTHER_CLIENT} ok\nstop ${OTHER_CLIENT} ok\n`);

    // The analysis names a process instance by its first key: an exec changes the pidversion on
    // macOS (400.1 exec'ing curl goes on as 400.2), and the instance stays 400.1.
    const first = analysed(join(dir, 'recording-1.npsession'));
    const byPort = new Map(first.flows.map((f) => [f.orig_p, f]));
    const paths = new Map(first.processes.map((p) => [p.process_key, p.path]));
    const exe = (port: number) => paths.get(byPort.get(port)?.process_key ?? '');
    expect(byPort.get(50100)?.process_key).toBe('400.1');
    expect(exe(50100)).toBe('/usr/bin/curl');
    expect(byPort.get(53001)?.process_key).toBe('300.1'); // mDNSResponder: never exec'd while recorded
    expect(exe(53001)).toBe('/usr/sbin/mDNSResponder');
    expect(byPort.get(50101)?.process_key).toBe('400.5'); // pid 400 reused: another instance
    expect(exe(50101)).toBe('/usr/bin/python3');
    for (const f of first.flows) expect(f.attribution_method).not.toBeNull();
    const sockets = netprov(['sql', "SELECT event, flow_id, process_key FROM socket_events WHERE flow_id = 'F1' ORDER BY t", join(dir, 'recording-1.npsession'), '-f', 'json']);
    expect(sockets.status, sockets.stderr).toBe(0);
    expect(JSON.parse(sockets.stdout)).toEqual([
      { event: 'open', flow_id: 'F1', process_key: '400.1' }, // one open: the second sighting was not recorded
      { event: 'close', flow_id: 'F1', process_key: '400.1' }, // the instance's first key, as above
    ]);

    const next = analysed(join(dir, 'recording-2.npsession'));
    expect(next.flows.map((f) => [f.orig_p, f.process_key])).toEqual([[53002, '300.1']]);
    // Described afresh: the second file stands on its own.
    expect(next.processes.find((p) => p.process_key === '300.1')?.path).toBe('/usr/sbin/mDNSResponder');
  });
});
