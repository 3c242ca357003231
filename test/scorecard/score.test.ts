import { describe, expect, it } from 'vitest';
import { committedRights, score, table, TABLE_END, TABLE_START, type ScoredFlow } from './score.js';
import { parseTruth } from './world.js';

const flow = (over: Partial<ScoredFlow>): ScoredFlow => ({
  uid: 'C1', proto: 'tcp', orig_h: '127.0.0.1', orig_p: 40000, resp_h: '127.0.0.1', resp_p: 8080, pid: 10, version: 1_230_000_000,
  method: 'socket-event', reason: null, exes: ['actor'], container_id: null, dns_name: null, ...over,
});

describe('the scorecard scores every flow against the truth', () => {
  const truths = parseTruth('truth tcp 127.0.0.1 8080 10 123 actor\nnoise\ntruth udp 10.0.0.2 7777 none\n');

  it('reads truth lines and nothing else', () => {
    expect(truths).toEqual([
      { proto: 'tcp', addr: '127.0.0.1', port: 8080, pid: 10, ticks: 123, exe: 'actor' },
      { proto: 'udp', addr: '10.0.0.2', port: 7777, pid: null },
    ]);
  });

  it('right only for the same instance: pid, an image, the start time, the container', () => {
    const row = score('s', [
      flow({}),
      flow({ pid: 11 }), // another process
      flow({ exes: ['sh'] }), // same pid, another program
      flow({ version: 9_990_000_000 }), // same pid, started later: pid reuse
      flow({ pid: null, method: null, reason: 'no-socket-event: no sensor event matches this flow' }),
    ], truths);
    expect(row).toMatchObject({ flows: 5, right: 1, wrong: 3, unattributed: 1, reasons: { 'no-socket-event': 1 } });
    expect(row.problems).toHaveLength(3);
  });

  it('a flow no process sent must stay unattributed; the kernel\'s ICMP too; an unplanned flow is wrong', () => {
    const row = score('s', [
      flow({ proto: 'udp', resp_h: '10.0.0.2', resp_p: 7777, pid: null, reason: 'no-socket-event: x' }),
      flow({ proto: 'udp', resp_h: '10.0.0.2', resp_p: 7777, pid: 10 }),
      flow({ proto: 'icmp', resp_p: 3, pid: null, reason: 'no-socket-event: x' }),
      flow({ resp_p: 9, pid: null }),
    ], truths);
    expect(row).toMatchObject({ right: 0, wrong: 2, unattributed: 2, reasons: { 'expected: no-socket-event': 1, "expected: the kernel's icmp": 1 } });
  });

  it('a container in the truth must be the flow\'s', () => {
    const inContainer = [{ ...truths[0], container: 'a'.repeat(64) }];
    expect(score('s', [flow({ container_id: 'a'.repeat(64) }), flow({})], inContainer)).toMatchObject({ right: 1, wrong: 1 });
  });

  it('a DNS name in the truth must be the flow\'s', () => {
    const named = [{ ...truths[0], name: 'intranet.example' }];
    expect(score('s', [flow({ dns_name: 'intranet.example' }), flow({ dns_name: 'cdn.example' }), flow({})], named)).toMatchObject({ right: 1, wrong: 2 });
  });

  it('reads back the table it writes', () => {
    const row = score('curl', [flow({})], truths);
    const readme = `intro\n${TABLE_START}\n${table([row], new Map([['curl', 'curl to a server']]))}\n${TABLE_END}\n`;
    expect(committedRights(readme)).toEqual(new Map([['curl', 1]]));
  });
});
