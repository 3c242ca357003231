/**
 * Attribution against known ground truth, on sessions built through the session writer: every
 * flow below has exactly one right answer, fixed by the events the test writes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query, type Database } from '../../analyzer/db/database.js';
import { ATTRIBUTION_SKEW_NS } from '../../analyzer/load/loader.js';
import { repoRoot } from '../helpers/paths.js';
import { FlowOrigin } from '../../recorder/session/events.js';
import { tcpConversation, udpFrame } from '../helpers/frames.js';
import { MS, S, SyntheticSession } from '../helpers/synthetic.js';

const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';

let db: Database;
let flows: Record<string, unknown>[];

beforeAll(async () => {
  const s = new SyntheticSession();
  const shell = s.exec(0, 50, 10, '/bin/bash', ['bash']);
  // curl, pid 100: its socket event arrives 3 ms AFTER the first SYN (queueing in the sensor).
  const curlA = s.fork(1 * S - 10 * MS, shell, 50, 100, 1000);
  s.exec(1 * S - 5 * MS, 100, 1000, '/usr/bin/curl', ['curl', 'http://10.0.0.2/']);
  s.packets(1 * S, tcpConversation(CLIENT, SERVER, 40000, 80, 100, 2000));
  s.socket(1 * S + 3 * MS, curlA, 6, [CLIENT, 40000], [SERVER, 80], FlowOrigin.connect, 'sock-a');
  s.add({ kind: 'exit', t: 2 * S, key: curlA, pid: 100, status: 0 });
  // pid 100 again, a different process (pid reuse): wget.
  const wget = s.fork(9 * S, shell, 50, 100, 9000);
  s.exec(9 * S + MS, 100, 9000, '/usr/bin/wget', ['wget', 'http://10.0.0.2/']);
  s.socket(10 * S - MS, wget, 6, [CLIENT, 40001], [SERVER, 80], FlowOrigin.connect, 'sock-b');
  s.packets(10 * S, tcpConversation(CLIENT, SERVER, 40001, 80, 50, 500));
  // The first flow's 5-tuple again, 19 s later, from python (ephemeral port reuse). No exit event for it.
  const python = s.exec(20 * S - 2 * MS, 300, 20000, '/usr/bin/python3', ['python3', 'fetch.py']);
  s.socket(20 * S - MS, python, 6, [CLIENT, 40000], [SERVER, 80], FlowOrigin.connect, 'sock-c');
  s.packets(20 * S, tcpConversation(CLIENT, SERVER, 40000, 80, 10, 10));
  // A UDP send from an unconnected socket: the sensor reports the wildcard local address.
  const dig = s.exec(25 * S - 2 * MS, 400, 25000, '/usr/bin/dig', ['dig', 'example.com']);
  s.socket(25 * S - MS, dig, 17, ['0.0.0.0', 45000], ['10.0.0.53', 53], FlowOrigin.send, 'sock-d');
  s.packets(25 * S, [udpFrame(CLIENT, '10.0.0.53', 45000, 53, Buffer.alloc(30))]);
  // A flow the sensor missed while it was losing events.
  s.add({ kind: 'loss', t: 30 * S, source: 'bpf-ringbuf', count: 12, reason: 'ring buffer full' });
  s.packets(30 * S + MS, tcpConversation(CLIENT, SERVER, 40002, 443, 10, 10));
  // A flow with no socket event at all.
  s.packets(40 * S, tcpConversation(CLIENT, SERVER, 40003, 8443, 10, 10));
  // Inbound to a listener known from the start: port ownership.
  const sshd = s.exec(0, 22, 5, '/usr/sbin/sshd', ['sshd', '-D']);
  s.socket(0, sshd, 6, ['0.0.0.0', 22], ['0.0.0.0', 0], FlowOrigin.listen, 'sock-listen');
  s.packets(50 * S, tcpConversation('10.0.0.9', CLIENT, 50000, 22, 10, 10));
  const path = s.write();

  ({ db } = await analyze([path], { db: null }));
  flows = await query(db, 'SELECT * FROM flow_details ORDER BY start_t');
});

afterAll(() => db?.close());

const flowOf = (port: number, startAfter = 0) => flows.find((f) => (f.orig_p === port || f.resp_p === port) && (f.start_t as number) >= startAfter)!;

describe('attribution', () => {
  it('finds a socket event that arrived slightly after the first packet', () => {
    expect(flowOf(40000)).toMatchObject({ pid: 100, exe: '/usr/bin/curl', attribution_method: 'socket-event', attribution_confidence: 1 });
    expect(flowOf(40000).argv).toEqual(['curl', 'http://10.0.0.2/']);
    expect(flowOf(40000).ancestry).toBe('50 /bin/bash');
  });

  it('never merges two processes that reused a pid', () => {
    expect(flowOf(40001)).toMatchObject({ pid: 100, exe: '/usr/bin/wget', process_key: '100@9000' });
    expect(flowOf(40000).process_key).toBe('100@1000');
  });

  it('splits a reused ephemeral port into two flows, each with its own process', () => {
    const both = flows.filter((f) => f.orig_p === 40000);
    expect(both).toHaveLength(2);
    expect(both.map((f) => f.exe)).toEqual(['/usr/bin/curl', '/usr/bin/python3']);
  });

  it('matches an unconnected UDP send reported with a wildcard local address', () => {
    expect(flowOf(45000)).toMatchObject({ exe: '/usr/bin/dig', attribution_method: 'socket-event', proto: 'udp' });
  });

  it('says why a flow is unattributed: a loss, or no socket event', () => {
    expect(flowOf(443)).toMatchObject({ process_key: null, unattributed_reason: expect.stringMatching(/^loss-during-flow/) });
    expect(flowOf(8443)).toMatchObject({ process_key: null, unattributed_reason: expect.stringMatching(/^no-socket-event/) });
  });

  it('gives inbound connections to the process that owns the port', () => {
    expect(flowOf(22)).toMatchObject({ exe: '/usr/sbin/sshd', attribution_method: 'port-owner', attribution_confidence: 0.6, orig_h: '10.0.0.9' });
  });

  it('keeps processes without exit events, with exit_t NULL', async () => {
    const [python] = await query(db, "SELECT exit_t, exec_t FROM processes WHERE path = '/usr/bin/python3'");
    expect(python).toEqual({ exit_t: null, exec_t: 20 * S - 2 * MS });
    const [curl] = await query(db, "SELECT exit_t, exit_status FROM processes WHERE process_key = '100@1000'");
    expect(curl).toEqual({ exit_t: 2 * S, exit_status: 0 });
  });
});

describe('attribution of a session without evidence of processes', () => {
  it.each(['fixtures/ftp-ipv4.npsession', 'test/oracle/zeek/ftp-ipv4.pcap'])(
    '%s: every flow gets the row attribution.sql would give it, by one INSERT',
    async (file) => {
      const { db: plain, results } = await analyze([join(repoRoot, file)], { db: null });
      try {
        const rows = () => query(plain, 'SELECT * FROM attributions ORDER BY uid');
        const quick = await rows();
        expect(quick).toHaveLength(results[0].flows);
        expect(quick.length).toBeGreaterThan(3);
        await plain.connection.run('DELETE FROM attributions');
        const rules = readFileSync(join(repoRoot, 'analyzer/attribution.sql'), 'utf8');
        await plain.connection.run(rules, { session: results[0].sessionId, skew_ns: ATTRIBUTION_SKEW_NS });
        expect(await rows()).toEqual(quick);
      } finally {
        plain.close();
      }
    },
  );
});
