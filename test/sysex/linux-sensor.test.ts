/**
 * Ground truth for the Linux sensor: real kernel events in a network namespace this test makes
 * (loopback only). Clients whose pids the test knows connect to a server in the namespace while
 * the sensor records; the analysis must attribute every connection to exactly that process.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query, type Database } from '../../analyzer/db/database.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { addNetns, inNs as inNsOf, removeNetns, waitFor } from '../helpers/netns.js';
import { repoRoot, scratch } from '../helpers/paths.js';

const build = join(repoRoot, 'sysex/linux/build');
const ns = `np-test-${randomBytes(3).toString('hex')}`;
const PORT = 18080;
const CONNECTORS = 500;
const truth: { pid: number; exe: string; argv0: string }[] = [];
let session: string;
let db: Database;
let server: ChildProcess;
let serverPid = 0;
let early: ChildProcess;
const EARLY_PORT = 18081;
const UDP_PORT = 18082;
const UDP_SENDERS = 20;
const EARLY_UDP_PORT = 18083;
let udpServer: ChildProcess;
const udpTruth: number[] = [];
let reusedPid = 0;

const inNs = (command: string[]) => inNsOf(ns, command);

beforeAll(async () => {
  execFileSync('make', ['-s', '-C', join(repoRoot, 'sysex/linux')], { stdio: 'inherit' });
  addNetns(ns);
  session = join(scratch(), 'linux.npsession');
  // Alive before the sensor starts: a server, and a client already connected to it that talks later.
  // It also holds a bound UDP socket.
  early = spawn('ip', inNs([process.execPath, '-e', `
    const net = require('node:net');
    const udp = require('node:dgram').createSocket('udp4');
    udp.bind(${EARLY_UDP_PORT}, '127.0.0.1', () => net.createServer((c) => c.on('data', (d) => c.end('pong'))).listen(${EARLY_PORT}, '127.0.0.1', () => {
      const c = net.connect(${EARLY_PORT}, '127.0.0.1', () => { console.log('connected ' + process.pid); setTimeout(() => c.write('ping'), 1500); });
      c.on('data', () => c.end());
    }));`]));
  await waitFor(early, 'connected');
  // No --interface: every interface of the namespace (here only lo).
  const sensor = spawn('ip', inNs([join(build, 'netprov-sensor'), '--output', session]));
  await waitFor(sensor, 'recording lo');
  server = spawn('ip', inNs([process.execPath, '-e', `require('node:http').createServer((q, r) => r.end('ok')).listen(${PORT}, '127.0.0.1', () => console.log('listening'))`]));
  await waitFor(server, 'listening');
  serverPid = server.pid!;

  // curl: its pid is the spawned pid (ip netns exec execs it in place).
  const curl = spawnSync('ip', inNs(['curl', '-s', '-o', '/dev/null', `http://127.0.0.1:${PORT}/`]));
  expect(curl.status).toBe(0);
  truth.push({ pid: curl.pid!, exe: '/usr/bin/curl', argv0: 'curl' });
  // Short-lived connectors: each exits the moment it has connected.
  for (let i = 0; i < CONNECTORS; i++) {
    const run = spawnSync('ip', inNs([join(build, 'connector'), '127.0.0.1', String(PORT)]), { encoding: 'utf8' });
    truth.push({ pid: Number(run.stdout.trim()), exe: join(build, 'connector'), argv0: join(build, 'connector') });
  }
  // UDP: a server bound after the sensor started; unbound sockets sending it one datagram each
  // with sendto(), and a few two with one sendmmsg(), as resolvers do.
  udpServer = spawn('ip', inNs([process.execPath, '-e', `require('node:dgram').createSocket('udp4').bind(${UDP_PORT}, '127.0.0.1', () => console.log('bound'))`]));
  await waitFor(udpServer, 'bound');
  // Two senders may draw the same ephemeral port (about one run in a hundred): theirs is then one
  // flow, the first's.
  const sourcePorts = new Set<string>();
  for (const mode of [...Array<string>(UDP_SENDERS).fill('--udp'), ...Array<string>(5).fill('--sendmmsg')]) {
    const run = spawnSync('ip', inNs([join(build, 'connector'), mode, '127.0.0.1', String(UDP_PORT)]), { encoding: 'utf8' });
    const port = /source port (\d+)/.exec(run.stderr)![1];
    if (!sourcePorts.has(port)) udpTruth.push(Number(run.stdout.trim()));
    sourcePorts.add(port);
  }
  // pid reuse: curl is handed the pid a connector had a moment ago (ns_last_pid is the pid the
  // kernel handed out last); another process on the machine may fork first, so try a few times.
  for (let attempt = 0; attempt < 20 && !reusedPid; attempt++) {
    const first = spawnSync('ip', inNs([join(build, 'connector'), '127.0.0.1', String(PORT)]), { encoding: 'utf8' });
    truth.push({ pid: Number(first.stdout.trim()), exe: join(build, 'connector'), argv0: join(build, 'connector') });
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(truth.at(-1)!.pid - 1));
    const again = spawnSync('ip', inNs(['curl', '-s', '-o', '/dev/null', `http://127.0.0.1:${PORT}/`]));
    truth.push({ pid: again.pid!, exe: '/usr/bin/curl', argv0: 'curl' });
    if (again.pid === truth.at(-2)!.pid) reusedPid = again.pid!;
  }
  // A process that forks; its child connects.
  const forked = spawnSync('ip', inNs([join(build, 'connector'), '--fork', '127.0.0.1', String(PORT)]), { encoding: 'utf8' });
  truth.push({ pid: Number(forked.stdout.trim()), exe: join(build, 'connector'), argv0: join(build, 'connector') });

  await new Promise((resolve) => setTimeout(resolve, 1800)); // the early client's ping is due 1.5 s after it connected
  sensor.kill('SIGINT');
  await new Promise((resolve) => sensor.once('exit', resolve));
  server.kill();
  early.kill();
  udpServer.kill();
  ({ db } = await analyze([session], { db: null }));
}, 120_000);

afterAll(() => {
  db?.close();
  server?.kill();
  early?.kill();
  udpServer?.kill();
  removeNetns(ns);
});

describe('Linux sensor ground truth', () => {
  it('attributes every connection to the process that made it: pid, executable and argv', async () => {
    const flows = await query(db, `SELECT orig_p, pid, exe, argv, attribution_method FROM flow_details WHERE resp_p = ${PORT} ORDER BY start_t`);
    expect(flows).toHaveLength(truth.length);
    expect(flows.map((f) => [f.pid, f.exe, (f.argv as string[])[0], f.attribution_method])).toEqual(
      truth.map((t) => [t.pid, t.exe, t.argv0, 'socket-event']),
    );
  });

  it('tells apart two processes that had the same pid', async () => {
    expect(reusedPid).toBeGreaterThan(0);
    const flows = await query(db, 'SELECT process_key, exe FROM flow_details WHERE pid = $1 ORDER BY start_t', [reusedPid]);
    expect(flows.map((f) => f.exe)).toEqual([join(build, 'connector'), '/usr/bin/curl']);
    expect(flows[0].process_key).not.toBe(flows[1].process_key);
  });

  it('records the fork of the child that connected, under its parent', async () => {
    const child = truth.at(-1)!.pid;
    const [row] = await query(db, 'SELECT p.origin, parent.path AS parent_path FROM processes p JOIN processes parent ON parent.process_key = p.parent_key WHERE p.pid = $1', [child]);
    expect(row).toEqual({ origin: 'fork', parent_path: join(build, 'connector') });
  });

  it('records the server\'s listening socket under its process (the port\'s owner)', async () => {
    const listens = await query(db, `SELECT s.local_addr, s.local_port, p.pid, p.path FROM socket_events s JOIN processes p USING (session_id, process_key) WHERE s.origin = 'listen' AND s.local_port = ${PORT}`);
    expect(listens).toEqual([{ local_addr: '127.0.0.1', local_port: PORT, pid: serverPid, path: process.execPath }]);
  });

  it('attributes UDP datagrams sent from unbound sockets (sendto, sendmmsg) to their senders', async () => {
    const flows = await query(db, `SELECT pid, exe, proto, attribution_method FROM flow_details WHERE resp_p = ${UDP_PORT} ORDER BY start_t`);
    expect(flows.map((f) => f.pid)).toEqual(udpTruth);
    // Seen by the cgroup v2 sendmsg hooks (the sensor mounts cgroup2 itself where the system has not).
    const marks = [...SessionReader.open(session).events()].filter((e) => e.kind === 'mark').map((e) => (e as { text: string }).text);
    expect(marks).toEqual([expect.stringMatching(/^UDP sends: cgroup\/sendmsg4\+6 on the cgroup v2 root/)]);
    expect(new Set(flows.map((f) => `${f.proto} ${f.exe} ${f.attribution_method}`))).toEqual(new Set([`udp ${join(build, 'connector')} socket-event`]));
  });

  it('records the ports UDP servers bound under their processes, from bind() and from the snapshot', async () => {
    const bound = await query(db, `SELECT s.local_addr, s.local_port, p.pid FROM socket_events s JOIN processes p USING (session_id, process_key) WHERE s.origin = 'listen' AND s.protocol = 17 AND s.local_port IN (${UDP_PORT}, ${EARLY_UDP_PORT}) ORDER BY s.local_port`);
    expect(bound).toEqual([
      { local_addr: '127.0.0.1', local_port: UDP_PORT, pid: udpServer.pid },
      { local_addr: '127.0.0.1', local_port: EARLY_UDP_PORT, pid: early.pid },
    ]);
  });

  it('still attributes UDP sends where cgroup v2 cannot be had (sys_exit instead), and says so', async () => {
    // Without CAP_SYS_ADMIN the sensor cannot mount cgroup2 (this machine's cgroups are v1).
    const fallback = join(scratch(), 'no-cgroup.npsession');
    const sensor = spawn('ip', inNs(['setpriv', '--bounding-set', '-sys_admin', join(build, 'netprov-sensor'), '--output', fallback]));
    await waitFor(sensor, 'recording');
    const senders = ['--udp', '--sendmmsg'].map((mode) => Number(spawnSync('ip', inNs([join(build, 'connector'), mode, '127.0.0.1', String(UDP_PORT)]), { encoding: 'utf8' }).stdout.trim()));
    await new Promise((resolve) => setTimeout(resolve, 300));
    sensor.kill('SIGINT');
    await new Promise((resolve) => sensor.once('exit', resolve));
    const events = [...SessionReader.open(fallback).events()];
    expect(events.filter((e) => e.kind === 'mark').map((e) => (e as { text: string }).text)).toEqual([
      'UDP sends: sys_exit (cgroup v2 not found and not mountable: Operation not permitted)',
    ]);
    const { db: fallbackDb } = await analyze([fallback], { db: null });
    const flows = await query(fallbackDb, `SELECT pid, attribution_method FROM flow_details WHERE resp_p = ${UDP_PORT} ORDER BY start_t`);
    fallbackDb.close();
    expect(flows).toEqual(senders.map((pid) => ({ pid, attribution_method: 'socket-event' })));
  });

  it('records every accepted connection under the server that accepted it', async () => {
    const accepted = await query(db, `SELECT count(*) AS n, count(DISTINCT process_key) AS processes, min(p.pid) AS pid FROM socket_events s JOIN processes p USING (session_id, process_key) WHERE s.origin = 'accept' AND s.local_port = ${PORT}`);
    expect(accepted).toEqual([{ n: truth.length, processes: 1, pid: serverPid }]);
    const [one] = await query(db, `SELECT remote_port FROM socket_events WHERE origin = 'accept' AND local_port = ${PORT} ORDER BY t LIMIT 1`);
    const [first] = await query(db, `SELECT orig_p FROM flow_details WHERE resp_p = ${PORT} ORDER BY start_t LIMIT 1`);
    expect(one.remote_port).toBe(first.orig_p);
  });

  it('records each connection\'s close with the bytes it carried', async () => {
    const [curl] = await query(db, `SELECT uid, orig_p, start_t, start_t + coalesce(duration, 0) * 1e9 AS end_t FROM flow_details WHERE pid = ${truth[0].pid}`);
    // Within a second of curl's connection: on loopback the kernel reuses a port in TIME_WAIT
    // (tcp_tw_reuse), so a later connector may be given curl's port again (seen once in CI).
    const closes = await query(
      db,
      `SELECT bytes_in, bytes_out FROM socket_events WHERE event = 'close' AND t BETWEEN $1 AND $2
         AND ((local_port = ${curl.orig_p} AND remote_port = ${PORT}) OR (local_port = ${PORT} AND remote_port = ${curl.orig_p}))`,
      [curl.start_t, Number(curl.end_t) + 1e9],
    );
    // Both ends are on this host: the client's socket and the server's accepted one both close.
    expect(closes).toHaveLength(2);
    const client = closes.find((c) => (c.bytes_in as number) > (c.bytes_out as number))!;
    expect(client.bytes_out).toBeGreaterThan(50); // the GET request
    expect(client.bytes_in).toBeGreaterThan(client.bytes_out as number); // the response, headers and body
    expect(await query(db, `SELECT name, link_type FROM interfaces`)).toEqual([{ name: 'lo', link_type: 1 }]);
  });

  it('knows the processes and sockets alive before it started (the start-up snapshot)', async () => {
    const [flow] = await query(db, `SELECT pid, exe, attribution_method FROM flow_details WHERE resp_p = ${EARLY_PORT} OR orig_p = ${EARLY_PORT}`);
    expect(flow).toEqual({ pid: early.pid, exe: process.execPath, attribution_method: 'socket-event' });
    const [listen] = await query(db, `SELECT p.pid, p.origin FROM socket_events s JOIN processes p USING (session_id, process_key) WHERE s.origin = 'listen' AND s.local_port = ${EARLY_PORT}`);
    expect(listen).toEqual({ pid: early.pid, origin: 'snapshot' });
  });

  it('lost nothing at this load', async () => {
    expect(await query(db, 'SELECT * FROM losses')).toEqual([]);
    const [s] = await query(db, 'SELECT complete, chunks_bad, sensor FROM sessions');
    expect(s).toEqual({ complete: true, chunks_bad: 0, sensor: 'netprov-linux 0.1.0' });
  });
});
