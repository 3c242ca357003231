/**
 * The DNS name on a flow is the one its process asked for. Behind a local stub resolver
 * (systemd-resolved on 127.0.0.53) every upstream query is the stub's, and behind a CDN many
 * names share one address: the last answer anyone received names the address wrongly for all
 * but one process. Built event by event: two processes ask the stub for two names that resolve to
 * one address, the stub asks upstream each time, then both connect to that address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query, type Database } from '../../analyzer/db/database.js';
import { FlowOrigin } from '../../recorder/session/events.js';
import { tcpConversation, udpFrame } from '../helpers/frames.js';
import { S, SyntheticSession } from '../helpers/synthetic.js';

const HOST = '10.0.0.2';
const CDN = '198.51.100.7';

/** A DNS message for `name` (type A): the question, or with `answer` the response carrying it. */
function dns(id: number, name: string, answer?: string): Buffer {
  const labels = Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(answer ? 0x8180 : 0x0100, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answer ? 1 : 0, 6);
  const question = Buffer.concat([labels, Buffer.from([0, 1, 0, 1])]);
  if (!answer) return Buffer.concat([header, question]);
  const record = Buffer.concat([Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]), Buffer.from(answer.split('.').map(Number))]);
  return Buffer.concat([header, question, record]);
}

let db: Database;
let uplinkOnly: Database;
const flowOf = async (port: number, from = db) => (await query(from, 'SELECT exe, dns_name FROM flow_details WHERE orig_p = $1', [port]))[0];

/** Two processes look up two names of one CDN address through the stub, then connect to it; `loopback`: the stub's loopback traffic was captured. */
async function stubSession(loopback: boolean): Promise<Database> {
  const s = new SyntheticSession(loopback ? 'stub.npsession' : 'stub-uplink.npsession');
  const resolved = s.exec(0, 10, 1, '/usr/lib/systemd/systemd-resolved', ['systemd-resolved']);
  const firefox = s.exec(0, 20, 2, '/usr/bin/firefox', ['firefox']);
  const updater = s.exec(0, 30, 3, '/usr/bin/updater', ['updater']);
  const lookup = (t: number, who: string, port: number, upstreamPort: number, id: number, name: string) => {
    s.socket(t, who, 17, ['127.0.0.1', port], ['127.0.0.53', 53], FlowOrigin.connect, `q-${port}`);
    if (loopback) s.packets(t + 1, [udpFrame('127.0.0.1', '127.0.0.53', port, 53, dns(id, name))]);
    s.socket(t + 2, resolved, 17, [HOST, upstreamPort], ['9.9.9.9', 53], FlowOrigin.connect, `up-${upstreamPort}`);
    s.packets(t + 3, [udpFrame(HOST, '9.9.9.9', upstreamPort, 53, dns(id + 1000, name)), udpFrame('9.9.9.9', HOST, 53, upstreamPort, dns(id + 1000, name, CDN))]);
    if (loopback) s.packets(t + 1000, [udpFrame('127.0.0.53', '127.0.0.1', 53, port, dns(id, name, CDN))]);
  };
  lookup(1 * S, firefox, 40001, 50001, 1, 'video.example');
  lookup(2 * S, updater, 40002, 50002, 2, 'updates.example');
  const connect = (t: number, who: string | null, port: number) => {
    if (who) s.socket(t, who, 6, [HOST, port], [CDN, 443], FlowOrigin.connect, `c-${port}`);
    s.packets(t + 1, tcpConversation(HOST, CDN, port, 443, 200, 2000));
  };
  connect(3 * S, firefox, 41001);
  connect(4 * S, updater, 41002);
  connect(5 * S, null, 41003); // nobody's: no process to ask
  return (await analyze([s.write()], { db: null })).db;
}

beforeAll(async () => {
  db = await stubSession(true);
  uplinkOnly = await stubSession(false);
});
afterAll(() => {
  db?.close();
  uplinkOnly?.close();
});

describe('DNS names through a local stub resolver', () => {
  it('names each process\'s flow by the name that process asked for, not the last answer for the address', async () => {
    expect(await flowOf(41001)).toEqual({ exe: '/usr/bin/firefox', dns_name: 'video.example' });
    expect(await flowOf(41002)).toEqual({ exe: '/usr/bin/updater', dns_name: 'updates.example' });
  });

  it('falls back to the last answer anyone received when the flow has no process of its own', async () => {
    expect(await flowOf(41003)).toEqual({ exe: null, dns_name: 'updates.example' });
  });

  it('joins a process\'s query to the stub with the stub\'s upstream answer when only the uplink was captured', async () => {
    // The process's query is known only from its socket event to 127.0.0.53:53; the answer from
    // the stub's upstream query that followed it.
    expect(await flowOf(41001, uplinkOnly)).toEqual({ exe: '/usr/bin/firefox', dns_name: 'video.example' });
    expect(await flowOf(41002, uplinkOnly)).toEqual({ exe: '/usr/bin/updater', dns_name: 'updates.example' });
  });

  it('keeps the stub\'s upstream queries on the stub', async () => {
    const upstream = await query(db, "SELECT DISTINCT exe FROM flow_details WHERE resp_h = '9.9.9.9'");
    expect(upstream).toEqual([{ exe: '/usr/lib/systemd/systemd-resolved' }]);
  });
});
