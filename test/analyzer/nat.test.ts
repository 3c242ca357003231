/**
 * Namespaces and NAT, event by event: a container's connection seen on the host's end of its
 * veth (interface r0) and again after MASQUERADE on the uplink (r1), the accepting server in a
 * third namespace. Socket ids are kernel addresses, reused as soon as a socket is freed: the
 * server's accepted socket here has the container client's old id, which must not make the
 * client's flow look like the server's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query, type Database } from '../../analyzer/db/database.js';
import { FlowOrigin } from '../../recorder/session/events.js';
import { TCP, tcpFrame } from '../helpers/frames.js';
import { MS, S, SyntheticSession } from '../helpers/synthetic.js';

const HOST_NS = 4026531840;
const CONTAINER_NS = 4026532001;
const SERVER_NS = 4026532002;

/** A handshake and one request from `client`, with initial sequence number `isn`. */
function handshake(client: string, server: string, sport: number, dport: number, isn: number): Buffer[] {
  return [
    tcpFrame({ src: client, dst: server, sport, dport, seq: isn, ack: 0, flags: TCP.SYN }),
    tcpFrame({ src: server, dst: client, sport: dport, dport: sport, seq: 7000, ack: isn + 1, flags: TCP.SYN | TCP.ACK }),
    tcpFrame({ src: client, dst: server, sport, dport, seq: isn + 1, ack: 7001, flags: TCP.ACK | TCP.PSH, payload: 10 }),
  ];
}

let db: Database;
const flow = async (origH: string, origP: number) =>
  (await query(db, 'SELECT uid, exe, attribution_method AS method, nat_of, netns FROM flow_details WHERE orig_h = $1 AND orig_p = $2', [origH, origP]))[0];

beforeAll(async () => {
  const s = new SyntheticSession('nat.npsession', undefined, HOST_NS);
  s.add({ kind: 'interface', t: 0, id: 1, name: 'r1', linkType: 1, snapLen: 65535, netns: HOST_NS });
  const client = s.exec(0, 100, 1, '/usr/bin/curl', ['curl']);
  const server = s.exec(0, 200, 2, '/usr/sbin/nginx', ['nginx']);
  const onUplink = (t: number, frames: Buffer[]) =>
    frames.forEach((data, i) => s.add({ kind: 'packet', t: t + i * MS, interfaceId: 1, direction: 0, origLen: data.length, data, processKey: null }));
  const socket = (t: number, who: string, local: [string, number], remote: [string, number], origin: 1 | 2, id: string, netns: number) =>
    s.add({ kind: 'flowOpen', t, flowId: id, processKey: who, protocol: 6, localAddr: local[0], localPort: local[1], remoteAddr: remote[0], remotePort: remote[1], direction: origin === 2 ? 1 : 2, origin, remoteHost: null, netns });

  // Translated: the container's SYN on r0, the same ISN from the host's address on r1.
  socket(1 * S, client, ['10.10.0.2', 40000], ['10.20.0.2', 8080], FlowOrigin.connect, 'sk-1', CONTAINER_NS);
  s.packets(1 * S + MS, handshake('10.10.0.2', '10.20.0.2', 40000, 8080, 111_111));
  onUplink(1 * S + 2 * MS, handshake('10.20.0.1', '10.20.0.2', 40000, 8080, 111_111));
  // The server accepts the translated connection on a socket that has the client's old id.
  socket(1 * S + 3 * MS, server, ['10.20.0.2', 8080], ['10.20.0.1', 40000], FlowOrigin.accept, 'sk-1', SERVER_NS);

  // Another host's connection through the uplink: another ISN, so no translation of the container's.
  onUplink(2 * S, handshake('10.20.0.9', '10.20.0.2', 40001, 8080, 222_222));
  socket(2 * S + MS, server, ['10.20.0.2', 8080], ['10.20.0.9', 40001], FlowOrigin.accept, 'sk-2', SERVER_NS);

  // Loopback in another namespace has the same tuple as the host's own: not this interface's.
  socket(3 * S, client, ['127.0.0.1', 40002], ['127.0.0.1', 8080], FlowOrigin.connect, 'sk-3', CONTAINER_NS);
  s.packets(3 * S + MS, handshake('127.0.0.1', '127.0.0.1', 40002, 8080, 333_333));
  ({ db } = await analyze([s.write()], { db: null }));
});
afterAll(() => db?.close());

describe('attribution across namespaces and NAT', () => {
  it('gives the container\'s flow on the veth to its client, by its socket in the container\'s namespace', async () => {
    expect(await flow('10.10.0.2', 40000)).toMatchObject({ exe: '/usr/bin/curl', method: 'socket-event', netns: CONTAINER_NS });
  });

  it('gives the translated flow on the uplink to the same client, through the shared ISN, not to the server that accepted it', async () => {
    const inner = await flow('10.10.0.2', 40000);
    expect(await flow('10.20.0.1', 40000)).toMatchObject({ exe: '/usr/bin/curl', method: 'nat', nat_of: inner.uid });
  });

  it('leaves another host\'s connection to the server that accepted it', async () => {
    expect(await flow('10.20.0.9', 40001)).toMatchObject({ exe: '/usr/sbin/nginx', method: 'socket-event', nat_of: null });
  });

  it('never attributes a loopback flow to a socket of another namespace', async () => {
    expect(await flow('127.0.0.1', 40002)).toMatchObject({ exe: null, method: null });
  });
});
