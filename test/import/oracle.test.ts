/**
 * Every capture in test/oracle imports with the packet count, lengths and timestamps that
 * tshark reads from it, and µs pcaps give the same bytes as pcap-parser.
 */
import { createReadStream } from 'node:fs';
import { basename, join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { importFiles } from '../../recorder/import/index.js';
import { oraclePcaps, scratch } from '../helpers/paths.js';
import { epochOf, packetsOf, readSession } from '../helpers/session.js';
import { tsharkFrames } from '../helpers/tshark.js';

const pcapParser = createRequire(import.meta.url)('pcap-parser');

interface ParsedPacket {
  sec: number;
  usec: number;
  data: Buffer;
}

function parseWithPcapParser(file: string): Promise<ParsedPacket[]> {
  return new Promise((resolve, reject) => {
    const packets: ParsedPacket[] = [];
    const parser = pcapParser.parse(createReadStream(file));
    parser.on('packet', (p: any) => packets.push({ sec: p.header.timestampSeconds, usec: p.header.timestampMicroseconds, data: Buffer.from(p.data) }));
    parser.on('end', () => resolve(packets));
    parser.on('error', reject);
  });
}

describe.each(oraclePcaps())('oracle capture %s', (file) => {
  const out = join(scratch(), `${basename(file)}.npsession`);
  importFiles([file], out);
  const { header, events, reader } = readSession(out);
  const packets = packetsOf(events);
  const frames = tsharkFrames(file);

  it('has tshark\'s packet count, lengths and every timestamp', () => {
    expect(frames.length).toBeGreaterThan(0);
    expect(packets.length).toBe(frames.length);
    expect(packets.map((p) => epochOf(header, p.t))).toEqual(frames.map((f) => f.epoch));
    expect(packets.map((p) => [p.origLen, p.data.length])).toEqual(frames.map((f) => [f.len, f.capLen]));
    expect(reader.report.problems).toEqual([]);
    expect(events.filter((e) => e.kind === 'loss')).toEqual([]);
  });

  it.runIf(!file.endsWith('.gz'))('has the bytes and µs timestamps pcap-parser reads', async () => {
    const parsed = await parseWithPcapParser(file);
    expect(packets.length).toBe(parsed.length);
    packets.forEach((p, i) => {
      const [sec, frac] = epochOf(header, p.t).split('.');
      expect([Number(sec), Number(frac) / 1000]).toEqual([parsed[i].sec, parsed[i].usec]);
      expect(Buffer.from(p.data).equals(parsed[i].data)).toBe(true);
    });
  });
});
