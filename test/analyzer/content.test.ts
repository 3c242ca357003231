/**
 * Service and names from payloads on captures built here byte by byte (RFC 8446's ClientHello
 * layout, RFC 7230's request line): a ClientHello split over three TCP segments, names with bytes
 * that would break a list, a request without its reply on a port Zeek does not attach HTTP to, and
 * text protocols confirmed only once both sides have spoken.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { flowRecords } from '../../analyzer/output/conn-log.js';
import { pcapFile } from '../helpers/capture-writer.js';
import { TCP, tcpFrame } from '../helpers/frames.js';
import { scratch } from '../helpers/paths.js';

const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 255, n & 255]);
const vector16 = (body: Buffer) => Buffer.concat([u16(body.length), body]);
const extension = (type: number, body: Buffer) => Buffer.concat([u16(type), vector16(body)]);

/** A TLS 1.2-framed ClientHello record offering `alpn` for `name`, padded by a 600-byte extension. */
function clientHelloRecord(name: string, alpn: string[]): Buffer {
  const sni = extension(0, vector16(Buffer.concat([Buffer.from([0]), vector16(Buffer.from(name, 'latin1'))])));
  const protocols = extension(16, vector16(Buffer.concat(alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])))));
  const padding = extension(21, Buffer.alloc(600));
  const body = Buffer.concat([
    u16(0x0303), Buffer.alloc(32, 7), Buffer.from([0]), vector16(Buffer.from([0x13, 0x01, 0xc0, 0x2f])), Buffer.from([1, 0]),
    vector16(Buffer.concat([padding, sni, protocols])),
  ]);
  const handshake = Buffer.concat([Buffer.from([1]), u24(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(handshake.length), handshake]);
}

const client = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000 };
const t0 = 1_700_000_000_000_000_000n;

/** A handshake, then `segments` from the client and `replies` from the server, in turn. */
function conversation(dport: number, segments: Buffer[], replies: Buffer[]): Buffer[] {
  const c = { ...client, dport };
  const s = { src: client.dst, dst: client.src, sport: dport, dport: client.sport };
  const frames = [tcpFrame({ ...c, seq: 100, ack: 0, flags: TCP.SYN }), tcpFrame({ ...s, seq: 500, ack: 101, flags: TCP.SYN | TCP.ACK }), tcpFrame({ ...c, seq: 101, ack: 501, flags: TCP.ACK })];
  let cs = 101;
  let ss = 501;
  for (let i = 0; i < Math.max(segments.length, replies.length); i++) {
    if (segments[i]) {
      frames.push(tcpFrame({ ...c, seq: cs, ack: ss, flags: TCP.ACK | TCP.PSH, payload: segments[i] }));
      cs += segments[i].length;
    }
    if (replies[i]) {
      frames.push(tcpFrame({ ...s, seq: ss, ack: cs, flags: TCP.ACK | TCP.PSH, payload: replies[i] }));
      ss += replies[i].length;
    }
  }
  return frames;
}

async function flowsOf(frames: Buffer[]) {
  const path = join(scratch(), 'content.pcap');
  writeFileSync(path, pcapFile(frames.map((data, i) => ({ ns: t0 + BigInt(i) * 1000n, data })), { littleEndian: true, nanos: true, linkType: 1 }));
  const { db } = await analyze([path], { db: null });
  try {
    return await flowRecords(db);
  } finally {
    db.close();
  }
}

describe('names and services from payloads', () => {
  it('reads a ClientHello split over three segments, on a port of its own', async () => {
    const hello = clientHelloRecord('Split.Example.ORG', ['h2', 'http/1.1']);
    const serverHello = Buffer.from([0x16, 3, 3, 0, 4, 2, 0, 0, 0]);
    const [flow] = await flowsOf(conversation(8443, [hello.subarray(0, 5), hello.subarray(5, 300), hello.subarray(300)], [serverHello]));
    expect(flow).toMatchObject({ server_name: 'split.example.org', alpn: ['h2', 'http/1.1'], service: 'ssl' });
  });

  it('escapes a name\'s bytes that would break a list or a log', async () => {
    const [flow] = await flowsOf(conversation(443, [clientHelloRecord('a,b\u00ff]', ['x y', 'h2'])], []));
    expect(flow).toMatchObject({ server_name: 'a\\x2cb\\xff\\x5d', alpn: ['x\\x20y', 'h2'], service: 'ssl' });
  });

  it('confirms HTTP on a request alone at port 80, but needs the reply elsewhere', async () => {
    const request = Buffer.from('QUERY /items HTTP/1.1\r\nHost: Shop.Example\r\n\r\n');
    const [on80] = await flowsOf(conversation(80, [request], []));
    expect(on80).toMatchObject({ service: 'http', http_host: 'shop.example' });
    const [elsewhere] = await flowsOf(conversation(9000, [request], []));
    expect(elsewhere).toMatchObject({ service: null, http_host: 'shop.example' });
    const [answered] = await flowsOf(conversation(9000, [request], [Buffer.from('HTTP/1.1 200 OK\r\n\r\n')]));
    expect(answered.service).toBe('http');
  });

  it('tells SMTP from FTP by what the client says after the same greeting', async () => {
    const greeting = Buffer.from('220 mail.example ESMTP\r\n');
    const [smtp] = await flowsOf(conversation(2525, [Buffer.from('EHLO me\r\n')], [greeting]));
    expect(smtp.service).toBe('smtp');
    const [ftp] = await flowsOf(conversation(2121, [Buffer.from('USER anonymous\r\n')], [greeting]));
    expect(ftp.service).toBe('ftp');
  });
});
