/**
 * The scorecard's scenarios: each makes its namespaces, then (with the sensor recording in the
 * namespace `sensorNs` returned by `setup`) opens flows whose owner it knows. Servers are
 * actor.c's `serve`: TCP (Fast Open on) and UDP echo.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { waitFor } from '../helpers/netns.js';
import { actor, connector, removeResolvConf, writeResolvConf, type World } from './world.js';

export interface Scenario {
  name: string;
  /** What it checks, for the README's table. */
  what: string;
  /** The interfaces the sensor records (default: every interface of its namespace). */
  interfaces?: string[];
  /** Makes the world; returns the namespace the sensor records in. */
  setup(world: World): Promise<string>;
  /** Opens the flows, while the sensor records. */
  act(world: World, sensorNs: string): Promise<void>;
  cleanup?(world: World, sensorNs: string): void;
}

const SERVE = [actor, 'serve', 'tcp:8080', 'tcp:8082', 'tcp6:8081', 'udp:9999', 'udpsink:9998'];

/** One namespace, loopback only, with the servers in it. */
const onLoopback = (name: string, what: string, act: Scenario['act'], prepare?: (world: World, ns: string) => void): Scenario => ({
  name,
  what,
  async setup(world) {
    const ns = world.namespace('s');
    prepare?.(world, ns);
    await world.start(ns, SERVE);
    return ns;
  },
  act,
});

/** This host (namespace `s`, where the sensor records) and another (`o`) over a veth pair, IPv4 only. */
async function twoHosts(world: World, [hereDev, hereAddr]: [string, string], [remoteDev, remoteAddr]: [string, string]): Promise<string> {
  const here = world.namespace('s', true);
  world.link(here, hereDev, hereAddr, world.namespace('o', true), remoteDev, remoteAddr);
  return here;
}

export const scenarios: Scenario[] = [
  onLoopback('short-lived static', '20 static clients, each connects and exits at once', async (world, ns) => {
    for (let i = 0; i < 20; i++) {
      const pid = Number(world.sh(ns, [connector, '127.0.0.1', '8080']).trim());
      world.truths.push({ proto: 'tcp', addr: '127.0.0.1', port: 8080, pid, exe: 'connector' });
    }
  }),
  onLoopback('curl', 'curl to a local server', async (world, ns) => {
    world.opens(ns, ['curl', '-s', '--http0.9', '-o', '/dev/null', 'http://127.0.0.1:8080/'], [{ proto: 'tcp', addr: '127.0.0.1', port: 8080, exe: 'curl' }]);
  }),
  onLoopback('python', 'a Python client (the interpreter, started through its launcher)', async (world, ns) => {
    const code = "import socket; s = socket.create_connection(('127.0.0.1', 8080)); s.sendall(b'hello\\n'); s.recv(16)";
    world.opens(ns, ['python3', '-c', code], [{ proto: 'tcp', addr: '127.0.0.1', port: 8080, exe: 'python' }]);
  }),
  onLoopback('thread', 'the third thread of a multi-threaded process opens the socket', async (world, ns) => {
    world.sh(ns, [actor, 'thread', '127.0.0.1', '8080']);
  }),
  onLoopback('fork, child uses', 'socket made by a parent, inherited across fork, connected and used only by the child', async (world, ns) => {
    world.sh(ns, [actor, 'fork-child', '127.0.0.1', '8080']);
  }),
  onLoopback('SCM_RIGHTS', 'socket passed over a Unix socket; the receiver connects and sends', async (world, ns) => {
    world.sh(ns, [actor, 'pass-fd', '127.0.0.1', '8080']);
  }),
  onLoopback('exec after connect', 'connect, then exec /bin/sh, which sends on the inherited socket', async (world, ns) => {
    world.sh(ns, [actor, 'exec-after', '127.0.0.1', '8080']);
  }),
  onLoopback('sendmmsg', 'two UDP datagrams in one sendmmsg()', async (world, ns) => {
    // To a sink: an echo would answer a socket the connector has closed already, and the kernel's ICMP would come and go.
    const pid = Number(world.sh(ns, [connector, '--sendmmsg', '127.0.0.1', '9998']).trim());
    world.truths.push({ proto: 'udp', addr: '127.0.0.1', port: 9998, pid, exe: 'connector' });
  }),
  onLoopback('io_uring', 'io_uring connect + send (TCP), io_uring sendmsg (UDP)', async (world, ns) => {
    world.sh(ns, [actor, 'uring', '127.0.0.1', '8080', '9999']);
  }),
  onLoopback('sendfile', 'connect, then sendfile() a file', async (world, ns) => {
    world.sh(ns, [actor, 'sendfile', '127.0.0.1', '8080']);
  }),
  onLoopback('unconnected UDP', 'sendto() from an unbound, unconnected UDP socket', async (world, ns) => {
    const pid = Number(world.sh(ns, [connector, '--udp', '127.0.0.1', '9998']).trim());
    world.truths.push({ proto: 'udp', addr: '127.0.0.1', port: 9998, pid, exe: 'connector' });
  }),
  onLoopback(
    'TCP Fast Open',
    'data in the SYN (sendto MSG_FASTOPEN), twice: the first fetches the cookie',
    async (world, ns) => {
      world.sh(ns, [actor, 'tfo', '127.0.0.1', '8080']);
    },
    (world, ns) => world.sh(ns, ['sysctl', '-qw', 'net.ipv4.tcp_fastopen=3']),
  ),
  onLoopback('IPv6', 'a TCP client over ::1', async (world, ns) => {
    world.sh(ns, [actor, 'connect', '::1', '8081']);
  }),
  onLoopback('loopback', 'client and server both on this host: the flow is the client\'s', async (world, ns) => {
    world.sh(ns, [actor, 'connect', '127.0.0.1', '8080']);
  }),
  onLoopback('refused connect', 'connect to a port nobody listens on (a scan): the reset comes before the local port is known to the CLOSE event', async (world, ns) => {
    const pid = Number(world.sh(ns, ['sh', '-c', `${connector} 127.0.0.1 9 || true`]).trim());
    world.truths.push({ proto: 'tcp', addr: '127.0.0.1', port: 9, pid, exe: 'connector' });
  }),
  onLoopback('pid reuse', 'a second process gets the first one\'s pid (ns_last_pid), both connect', async (world, ns) => {
    world.sh(ns, [actor, 'reuse', '127.0.0.1', '8080', '8082']);
  }),
  {
    name: 'inbound',
    what: 'a client on another host (namespace) connects; the server here accepts',
    setup: (world) => twoHosts(world, ['vin', '10.77.0.1'], ['vout', '10.77.0.2']),
    async act(world, here) {
      const pid = await world.start(here, [actor, 'serve', 'tcp:8080']);
      world.truths.push({ proto: 'tcp', addr: '10.77.0.1', port: 8080, pid, exe: 'actor' });
      for (let i = 0; i < 3; i++) world.sh(world.ns('o'), [actor, 'connect', '10.77.0.1', '8080'], false);
    },
  },
  {
    name: 'container behind NAT',
    what: 'a process in a container (cgroup docker-ID.scope, own namespace) connects out through the host\'s MASQUERADE (TCP, io_uring TCP and UDP)',
    async setup(world) {
      const host = world.namespace('h', true);
      const container = world.namespace('c', true);
      const internet = world.namespace('i', true);
      world.link(host, 'r0', '10.10.0.1', container, 'c0', '10.10.0.2');
      world.link(host, 'r1', '10.20.0.1', internet, 'i0', '10.20.0.2');
      world.sh(container, ['ip', 'route', 'add', 'default', 'via', '10.10.0.1']);
      world.sh(host, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      world.sh(host, ['nft', 'add table ip nat; add chain ip nat post { type nat hook postrouting priority 100; }; add rule ip nat post oifname "r1" masquerade']);
      await world.start(internet, [actor, 'serve', 'tcp:8080', 'udp:9999']);
      return host;
    },
    async act(world) {
      const id = randomBytes(32).toString('hex');
      const scope = world.cgroup(`system.slice/docker-${id}.scope`);
      const container = world.ns('c');
      const before = world.truths.length;
      // Into the container's cgroup before exec, as runc does.
      world.sh(container, ['sh', '-c', `echo $$ > ${join(scope, 'cgroup.procs')} && exec ${actor} connect 10.20.0.2 8080`]);
      world.sh(container, ['sh', '-c', `echo $$ > ${join(scope, 'cgroup.procs')} && exec ${actor} uring 10.20.0.2 8080 9999`]);
      for (const t of world.truths.slice(before)) t.container = id;
    },
  },
  viaStub('DNS via local stub', 'curl resolves through a stub resolver on 127.0.0.53, which asks the upstream server; then connects'),
  {
    ...viaStub(
      'DNS via stub, uplink only',
      'recording only the uplink, a client resolves a name through the stub, another process resolves a second name of the same address, ' +
        'then the client connects: its flow must carry the name it asked for, known from its socket to the stub alone',
      ['s0'],
    ),
    async act(world, here) {
      const stub = await world.start(here, [process.execPath, '-e', STUB_RESOLVER]);
      world.truths.push({ proto: 'udp', addr: '10.30.0.2', port: 53, pid: stub, exe: 'node' });
      const client = spawn('ip', ['netns', 'exec', here, 'python3', '-c', RESOLVE_THEN_CONNECT]);
      await waitFor(client, 'resolved');
      world.truths.push({ proto: 'tcp', addr: '10.30.0.2', port: 8080, pid: client.pid!, exe: 'python', name: 'intranet.netprov.test' });
      // The last answer for the address is now another name's.
      world.opens(here, ['getent', 'ahostsv4', 'decoy.netprov.test'], [{ proto: 'udp', addr: '127.0.0.53', port: 53, exe: 'getent' }], 'ip netns exec');
      const done = new Promise((resolve) => client.once('exit', resolve));
      client.stdin!.end('go\n');
      if ((await done) !== 0) throw new Error('the client did not connect');
    },
  },
  {
    name: 'raw AF_PACKET',
    what: 'a UDP datagram written through a packet socket: no socket sent it (expected: unattributed)',
    setup: (world) => twoHosts(world, ['p0', '10.40.0.1'], ['p1', '10.40.0.2']),
    async act(world, here) {
      world.sh(here, [actor, 'raw', 'p0', '10.40.0.1', '10.40.0.2', '7777']);
    },
  },
];

/** curl resolves a name through a stub resolver on 127.0.0.53 (the namespace's resolv.conf), which asks upstream; then connects to the answer. */
function viaStub(name: string, what: string, interfaces?: string[]): Scenario {
  return {
    name,
    what,
    interfaces,
    async setup(world) {
      const here = world.namespace('s');
      const upstream = world.namespace('u', true);
      world.sh(here, ['sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
      world.link(here, 's0', '10.30.0.1', upstream, 'u0', '10.30.0.2');
      writeResolvConf(here, '127.0.0.53');
      await world.start(upstream, [process.execPath, '-e', DNS_SERVER]);
      await world.start(upstream, [actor, 'serve', 'tcp:8080']);
      return here;
    },
    async act(world, here) {
      const stub = await world.start(here, [process.execPath, '-e', STUB_RESOLVER]);
      world.truths.push({ proto: 'udp', addr: '10.30.0.2', port: 53, pid: stub, exe: 'node' });
      world.opens(here, ['curl', '-s', '-4', '--http0.9', '-o', '/dev/null', 'http://intranet.netprov.test:8080/'], [
        { proto: 'udp', addr: '127.0.0.53', port: 53, exe: 'curl' },
        { proto: 'tcp', addr: '10.30.0.2', port: 8080, exe: 'curl', name: 'intranet.netprov.test' },
      ], 'ip netns exec');
    },
    cleanup(world, here) {
      removeResolvConf(here);
    },
  };
}

/** Resolves a name through the system's resolver, waits for a line on stdin, then connects to the answer. */
const RESOLVE_THEN_CONNECT = `
import socket, sys
address = socket.getaddrinfo('intranet.netprov.test', 8080, socket.AF_INET, socket.SOCK_STREAM)[0][4]
print('resolved', flush=True)
sys.stdin.readline()
s = socket.create_connection(address)
s.sendall(b'hello\\n')
s.recv(16)`;

/** Upstream DNS: answers every A question with 10.30.0.2. */
const DNS_SERVER = `
  const s = require('node:dgram').createSocket('udp4');
  s.on('message', (q, from) => {
    const end = q.indexOf(0, 12) + 5;
    const isA = q[end - 3] === 1;
    const header = Buffer.from([q[0], q[1], 0x81, 0x80, 0, 1, 0, isA ? 1 : 0, 0, 0, 0, 0]);
    const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 30, 0, 2]);
    s.send(Buffer.concat([header, q.subarray(12, end), isA ? answer : Buffer.alloc(0)]), from.port, from.address);
  });
  s.bind(53, '10.30.0.2', () => console.log('ready'));`;

/** A caching-free stub resolver on 127.0.0.53, as systemd-resolved: each query asked upstream from its own socket. */
const STUB_RESOLVER = `
  const dgram = require('node:dgram');
  const local = dgram.createSocket('udp4');
  local.on('message', (q, client) => {
    const upstream = dgram.createSocket('udp4');
    upstream.on('message', (answer) => { local.send(answer, client.port, client.address); upstream.close(); });
    upstream.send(q, 53, '10.30.0.2');
  });
  local.bind(53, '127.0.0.53', () => console.log('ready'));`;
