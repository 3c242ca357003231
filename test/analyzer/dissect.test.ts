import { describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query } from '../../analyzer/db/database.js';
import { dissect, formatAddress, newDissected } from '../../analyzer/dissect/packet.js';
import { tcpFrame, udpFrame, TCP } from '../helpers/frames.js';
import { MS, SyntheticSession } from '../helpers/synthetic.js';

const d = newDissected();
const ipPayload = (frame: Buffer) => frame.subarray(14);

describe('dissection', () => {
  it('reads through stacked VLAN tags', () => {
    const frame = udpFrame('10.1.1.1', '10.1.1.2', 1000, 2000, Buffer.from('hi'));
    const tagged = Buffer.concat([frame.subarray(0, 12), Buffer.from('88a8006481000065', 'hex'), frame.subarray(12)]);
    dissect(d, 1, tagged);
    expect([d.vlan, d.ipVersion, d.protocol, d.srcPort, d.dstPort, d.payloadLen, d.problem]).toEqual([100, 4, 17, 1000, 2000, 2, null]);
  });

  it('reads Linux SLL and SLL2 and BSD loopback headers', () => {
    const ip = ipPayload(tcpFrame({ src: '1.2.3.4', dst: '5.6.7.8', sport: 1, dport: 2, seq: 7, ack: 0, flags: TCP.SYN }));
    dissect(d, 113, Buffer.concat([Buffer.from('00040001000602000000000100000800', 'hex'), ip]));
    expect([d.protocol, d.seq, d.tcpFlags]).toEqual([6, 7, TCP.SYN]);
    dissect(d, 276, Buffer.concat([Buffer.from('0800000000000001000104060200000000010000', 'hex'), ip]));
    expect(formatAddress(d.data, d.dstAt, 4)).toBe('5.6.7.8');
    dissect(d, 0, Buffer.concat([Buffer.from([2, 0, 0, 0]), ip]));
    expect(d.dstPort).toBe(2);
  });

  it('walks IPv6 extension headers to the transport header', () => {
    const ip6 = Buffer.alloc(40 + 8 + 8 + 8);
    ip6[0] = 0x60;
    ip6.writeUInt16BE(24, 4);
    ip6[6] = 0; // hop-by-hop
    ip6[7] = 64;
    ip6[8] = 0x20; ip6[9] = 0x01; ip6[23] = 1; // 2001::1
    ip6[24] = 0x20; ip6[25] = 0x01; ip6[39] = 2; // 2001::2
    ip6[40] = 60; ip6[41] = 0; // hop-by-hop -> destination options, 8 bytes
    ip6[48] = 17; ip6[49] = 0; // destination options -> UDP
    ip6.writeUInt16BE(53, 56);
    ip6.writeUInt16BE(5353, 58);
    dissect(d, 101, ip6);
    expect([d.ipVersion, d.protocol, d.srcPort, d.dstPort, formatAddress(d.data, d.srcAt, 6)]).toEqual([6, 17, 53, 5353, '2001::1']);
  });

  it('keeps what it could read of a truncated packet and says why', () => {
    const frame = tcpFrame({ src: '1.2.3.4', dst: '5.6.7.8', sport: 1, dport: 2, seq: 7, ack: 0, flags: TCP.SYN });
    dissect(d, 1, frame.subarray(0, 40));
    expect([d.ipVersion, d.protocol, d.problem]).toEqual([4, 6, 'truncated TCP header']);
    expect(formatAddress(d.data, d.srcAt, 4)).toBe('1.2.3.4');
  });

  it('does not stop a load on malformed packets: they are counted and kept', async () => {
    const s = new SyntheticSession();
    const good = udpFrame('10.0.0.1', '10.0.0.2', 1111, 2222, Buffer.from('x'));
    s.packets(MS, [good, Buffer.from([1, 2, 3]), good.subarray(0, 20), good]);
    const { db } = await analyze([s.write()], { db: null });
    try {
      const packets = await query(db, 'SELECT packet_no, problem, flow_uid IS NOT NULL AS in_flow FROM packets ORDER BY packet_no');
      expect(packets).toEqual([
        { packet_no: 0, problem: null, in_flow: true },
        { packet_no: 1, problem: 'truncated Ethernet header', in_flow: false },
        { packet_no: 2, problem: 'truncated IPv4 header', in_flow: false },
        { packet_no: 3, problem: null, in_flow: true },
      ]);
      const [session] = await query(db, 'SELECT malformed_packets FROM sessions');
      expect(session.malformed_packets).toBe(2);
      const [flow] = await query(db, 'SELECT orig_pkts FROM flows');
      expect(flow.orig_pkts).toBe(2);
    } finally {
      db.close();
    }
  });
});

describe('damaged sessions', () => {
  it('analyze refuses a corrupt session naming the offset, as inspect does, and --salvage reads past the damage', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { netprov } = await import('../helpers/cli.js');
    const { scratch } = await import('../helpers/paths.js');
    const { FILE_SIGNATURE, FRAME_HEADER_SIZE } = await import('../../recorder/session/frame.js');
    const s = new SyntheticSession('damaged.npsession');
    for (let i = 0; i < 30; i++) s.packets((i + 1) * 1_000_000_000, [udpFrame('10.0.0.1', '10.0.0.2', 20000 + i, 53, Buffer.alloc(20))]);
    const bytes = readFileSync(s.write({ chunkBytes: 600 }));
    const frames: number[] = [];
    for (let at = FILE_SIGNATURE.length; at < bytes.length; at += FRAME_HEADER_SIZE + bytes.readUInt32LE(at + 12)) frames.push(at);
    const middle = frames[Math.floor(frames.length / 2)];
    const damaged = Buffer.from(bytes);
    damaged[middle + FRAME_HEADER_SIZE + 5] ^= 0xff;
    const path = join(scratch(), 'damaged.npsession');
    writeFileSync(path, damaged);

    const strict = netprov(['analyze', path, '--json', '-']);
    expect([strict.status, strict.stdout]).toEqual([1, '']);
    expect(strict.stderr).toBe(`netprov: ${path}: corrupt at offset ${middle} (payload checksum mismatch); rerun with --salvage to load what is intact\n`);

    const salvagedRun = netprov(['analyze', path, '--json', '-', '--salvage']);
    expect(salvagedRun.status).toBe(0);
    expect(salvagedRun.stderr).toContain(`netprov: warning: ${path}: offset ${middle}: payload checksum mismatch`);
    const salvaged = JSON.parse(salvagedRun.stdout);
    expect(salvaged.flows.length).toBeGreaterThan(0);
    expect(salvaged.flows.length).toBeLessThan(30);
    expect(salvaged.sessions[0].chunks_bad).toBe(1);
  });
});
