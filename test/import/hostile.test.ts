/**
 * Hostile and broken inputs: every one gives exit 0 with a warning and a loss, or exit 1 with one
 * line naming the file and offset or field — never exit 2; no import writes a session the reader
 * rejects; and every reader agrees on a damaged session (inspect, analyze, --salvage).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILE_SIGNATURE, FRAME_HEADER_SIZE } from '../../recorder/session/frame.js';
import { udpFrame } from '../helpers/frames.js';
import { netprov } from '../helpers/cli.js';
import { repoRoot, scratch } from '../helpers/paths.js';

/** A little-endian pcapng block. */
function block(type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(padded.length + 12, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(padded.length + 12, 0);
  return Buffer.concat([head, padded, tail]);
}

const shb = block(0x0a0d0d0a, Buffer.from('4d3c2b1a01000000ffffffffffffffff', 'hex'));
const option = (code: number, value: Buffer) => {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(code, 0);
  h.writeUInt16LE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
};
const idb = (...options: Buffer[]) => block(1, Buffer.concat([Buffer.from('0100000000000400', 'hex'), ...options, options.length ? Buffer.alloc(4) : Buffer.alloc(0)]));
const frame = udpFrame('10.0.0.1', '10.0.0.2', 1000, 53, Buffer.from('hello'));
function epb(high: number, low: number): Buffer {
  const fixed = Buffer.alloc(20);
  fixed.writeUInt32LE(high, 4);
  fixed.writeUInt32LE(low, 8);
  fixed.writeUInt32LE(frame.length, 12);
  fixed.writeUInt32LE(frame.length, 16);
  return block(6, Buffer.concat([fixed, frame]));
}
const goodPacket = epb(0x0005f5e1, 0); // 2013

function importOf(name: string, bytes: Buffer) {
  const dir = scratch();
  writeFileSync(join(dir, name), bytes);
  const session = join(dir, 'out.npsession');
  const imported = netprov(['import', join(dir, name), '-o', session]);
  return { imported, session, inspected: imported.status === 0 ? netprov(['inspect', session, '--json']) : null };
}

describe('pcapng blocks an importer must survive', () => {
  it.each([
    ['an enhanced packet block shorter than its fixed fields', block(6, Buffer.alloc(8)), /enhanced packet block at offset \d+ is 8 bytes, shorter than its 20/],
    ['an interface statistics block shorter than its fixed fields', block(5, Buffer.alloc(4)), /interface statistics block at offset \d+ is 4 bytes/],
    ['an obsolete packet block shorter than its fixed fields', block(2, Buffer.alloc(12)), /packet block at offset \d+ is 12 bytes/],
    ['an empty Apple process block', block(0x80000001, Buffer.alloc(0)), /process information block at offset \d+ is 0 bytes/],
    ['an EPB time of 2^64 - 1 microseconds', epb(0xffffffff, 0xffffffff), /enhanced packet block at offset \d+ has time \d+ s .* beyond any capture clock/],
  ])('%s: imported with a warning naming the offset, the rest kept', (_what, bad, warning) => {
    const { imported, inspected } = importOf('hostile.pcapng', Buffer.concat([shb, idb(), goodPacket, bad, goodPacket]));
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stderr).toMatch(warning);
    const report = JSON.parse(inspected!.stdout);
    expect([inspected!.status, report.counts.packet, report.badEvents, report.chunks.bad]).toEqual([0, 2, 0, 0]);
  });

  it('keeps interface numbering past an empty interface block', () => {
    const second = Buffer.from(goodPacket);
    second.writeUInt32LE(1, 8); // interface 1, after an empty (unusable) interface 0
    const { imported, inspected } = importOf('empty-idb.pcapng', Buffer.concat([shb, block(1, Buffer.alloc(0)), idb(), second]));
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stderr).toMatch(/interface description block at offset \d+ is 0 bytes/);
    expect(JSON.parse(inspected!.stdout).counts.packet).toBe(1);
  });

  it.each([
    ['if_tsoffset of 2^62', option(14, Buffer.from('0000000000000040', 'hex'))],
    ['if_tsoffset of -2^62', option(14, Buffer.from('00000000000000c0', 'hex'))],
    ['if_tsresol of 0 (1 s units)', option(9, Buffer.from([0]))],
  ])('an interface with %s: exit 0 or 1 with one line, never 2', (_what, opt) => {
    const { imported } = importOf('resolution.pcapng', Buffer.concat([shb, idb(opt), goodPacket]));
    expect([0, 1]).toContain(imported.status);
    if (imported.status === 1) expect(imported.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('eslogger values the session format cannot hold', () => {
  it.each([
    ['a signing_id that is a number', (m: Record<string, any>) => (m.process.signing_id = 12345)],
    ['an audit-token pid of 2^64', (m: Record<string, any>) => (m.process.audit_token.pid = 18446744073709551616)],
  ])('%s: imported with a warning and a loss, and the session reads clean', (_what, spoil) => {
    const lines = readFileSync(join(repoRoot, 'test/data/eslogger-sample.jsonl'), 'utf8').split('\n').filter(Boolean);
    const message = JSON.parse(lines[1]);
    spoil(message);
    const { imported, inspected } = importOf('es.json', Buffer.from(`${lines[0]}\n${JSON.stringify(message)}\n${lines.slice(2).join('\n')}\n`));
    expect(imported.status, imported.stderr).toBe(0);
    const report = JSON.parse(inspected!.stdout);
    expect([inspected!.status, report.badEvents, report.chunks.bad]).toEqual([0, 0, 0]);
  });
});

describe('damaged sessions: every reader agrees', () => {
  const session = join(repoRoot, 'fixtures/http-get.npsession');
  const frames = (bytes: Buffer) => {
    const offsets: number[] = [];
    for (let at = FILE_SIGNATURE.length; at < bytes.length; at += FRAME_HEADER_SIZE + bytes.readUInt32LE(at + 12)) offsets.push(at);
    return offsets;
  };

  it('skips a duplicated chunk, names it, and exits 1 without --salvage in inspect and analyze alike', () => {
    const bytes = readFileSync(session);
    const [, chunk, next] = frames(bytes);
    const duplicated = Buffer.concat([bytes.subarray(0, next), bytes.subarray(chunk, next), bytes.subarray(next)]);
    const dir = scratch();
    const path = join(dir, 'dup.npsession');
    writeFileSync(path, duplicated);
    const inspected = netprov(['inspect', path]);
    expect(inspected.status).toBe(1);
    expect(inspected.stderr).toMatch(/frame 1 comes after frame 1 \(a duplicated or reordered chunk\); skipped/);
    const analysed = netprov(['analyze', path]);
    expect(analysed.status).toBe(1);
    expect(analysed.stderr).toMatch(/dup\.npsession: corrupt at offset \d+ \(frame 1 comes after frame 1/);
    const salvaged = netprov(['analyze', path, '--salvage', '--json', '-']);
    expect(salvaged.status, salvaged.stderr).toBe(0);
    const original = JSON.parse(netprov(['analyze', session, '--json', '-']).stdout);
    expect(JSON.parse(salvaged.stdout).flows).toEqual(original.flows);
  });
});

describe('a chunk whose checksums hold but whose msgpack breaks', () => {
  it('gives inspect and analyze the same events up to the break, and exit 1 without --salvage', async () => {
    const { encodeFrame, decodeFrameHeader } = await import('../../recorder/session/frame.js');
    const bytes = readFileSync(join(repoRoot, 'fixtures/linux-burst.npsession'));
    const at = FILE_SIGNATURE.length + FRAME_HEADER_SIZE + bytes.readUInt32LE(FILE_SIGNATURE.length + 12); // the first chunk
    const header = decodeFrameHeader(bytes.subarray(at, at + FRAME_HEADER_SIZE));
    if (typeof header === 'string') throw new Error(header);
    const payload = Buffer.from(bytes.subarray(at + FRAME_HEADER_SIZE, at + FRAME_HEADER_SIZE + header.payloadLength));
    const { unpackr } = await import('../../recorder/session/msgpack.js');
    const starts: number[] = [];
    unpackr.unpackMultiple(payload, (_value: unknown, start?: number) => void starts.push(start ?? -1));
    expect(starts.length).toBeGreaterThan(10);
    payload[starts[Math.floor(starts.length / 2)]] = 0xc1; // an event starting with the one byte msgpack never uses
    const broken = Buffer.concat([bytes.subarray(0, at), encodeFrame(header.type, header.sequence, header.eventCount, payload), bytes.subarray(at + FRAME_HEADER_SIZE + header.payloadLength)]);
    const dir = scratch();
    const path = join(dir, 'broken.npsession');
    writeFileSync(path, broken);
    expect(netprov(['inspect', path]).status).toBe(1);
    expect(netprov(['analyze', path]).status).toBe(1);
    const inspected = JSON.parse(netprov(['inspect', path, '--salvage', '--json']).stdout);
    const analysed = JSON.parse(netprov(['sql', 'SELECT (SELECT count(*) FROM packets) AS packets, (SELECT events FROM sessions) AS events', path, '--salvage', '-f', 'json']).stdout);
    expect(inspected.counts.packet).toBeGreaterThan(0);
    expect(analysed[0].packets).toBe(inspected.counts.packet);
    expect(analysed[0].events).toBe(Object.values(inspected.counts as Record<string, number>).reduce((a, b) => a + b, 0));
  });
});

describe('found by npm run fuzz', () => {
  it('a DNS answer whose TTL has its top bit set is read as TTL 0 (RFC 2181), not a crash', async () => {
    const { analyze } = await import('../../analyzer/analyze.js');
    const { query } = await import('../../analyzer/db/database.js');
    const { SyntheticSession, MS } = await import('../helpers/synthetic.js');
    // example.com A 93.184.216.34, TTL 0xffffffff.
    const answer = Buffer.from('abcd81800001000100000000076578616d706c6503636f6d0000010001c00c00010001ffffffff00045db8d822', 'hex');
    const s = new SyntheticSession('ttl.npsession');
    s.packets(MS, [udpFrame('10.0.0.53', '10.0.0.1', 53, 40000, answer)]);
    const { db } = await analyze([s.write()], { db: null });
    try {
      expect(await query(db, 'SELECT query, answers, ttls FROM dns')).toEqual([{ query: 'example.com', answers: ['93.184.216.34'], ttls: [0] }]);
    } finally {
      db.close();
    }
  });
});
