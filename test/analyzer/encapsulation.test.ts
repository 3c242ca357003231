/**
 * Every link layer and encapsulation netprov dissects, each as a capture built here: a TCP
 * handshake (SYN, SYN-ACK, ACK) from 10.1.0.1:40000 to 10.2.0.2:443 wrapped as the case says,
 * imported and analysed. The flow must come out whole; a tunnel's flow names its parent, and a
 * tunnel carried in UDP is a flow of its own, the parent named.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dissect, newDissected } from '../../analyzer/dissect/packet.js';
import { pcapFile } from '../helpers/capture-writer.js';
import { TCP, tcpFrame } from '../helpers/frames.js';
import { analyzeToRows } from '../helpers/analyze.js';
import { netprov } from '../helpers/cli.js';
import { scratch } from '../helpers/paths.js';

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');
const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);
const MACS = hex('020000000002 020000000001');

/** The handshake as Ethernet frames (the inner packets of every case). */
const handshake = [
  tcpFrame({ src: '10.1.0.1', dst: '10.2.0.2', sport: 40000, dport: 443, seq: 100, ack: 0, flags: TCP.SYN }),
  tcpFrame({ src: '10.2.0.2', dst: '10.1.0.1', sport: 443, dport: 40000, seq: 900, ack: 101, flags: TCP.SYN | TCP.ACK }),
  tcpFrame({ src: '10.1.0.1', dst: '10.2.0.2', sport: 40000, dport: 443, seq: 101, ack: 901, flags: TCP.ACK }),
];
const ipOf = (frame: Buffer) => frame.subarray(14);

/** An IPv4 header around `payload` (checksum left 0: checksums are not verified by default). */
function ipv4(protocol: number, payload: Buffer, src = '192.0.2.1', dst = '192.0.2.2'): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h[8] = 64;
  h[9] = protocol;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  return Buffer.concat([h, payload]);
}

/** An IPv6 header (PREFIX::1 -> PREFIX::2, or back) around `payload`. */
function ipv6(next: number, payload: Buffer, prefix = '20010db8', reply = false): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(Math.min(payload.length, 0xffff), 4);
  h[6] = next;
  h[7] = 64;
  hex(prefix).copy(h, 8);
  h[23] = reply ? 2 : 1;
  hex(prefix).copy(h, 24);
  h[39] = reply ? 1 : 2;
  return Buffer.concat([h, payload]);
}

/** The handshake's TCP segments re-addressed over IPv6 (for IPv6-in-IPv4 and Teredo). */
const tcp6 = (frame: Buffer, prefix?: string) => ipv6(6, frame.subarray(34), prefix, frame[29] === 2);

function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

const ether = (type: number, payload: Buffer) => Buffer.concat([MACS, u16(type), payload]);
const wifiData = (payload: Buffer, qos = false) =>
  Buffer.concat([hex(qos ? '8801' : '0801'), hex('0000 020000000002 020000000001 020000000003 0000'), qos ? hex('0000') : Buffer.alloc(0), hex('aaaa03000000 0800'), payload]);
/** A packet through a tunnel: both directions use the same outer endpoints for simplicity. */
const overIp = (protocol: number, inner: Buffer) => ether(0x0800, ipv4(protocol, inner));
const overUdp = (dport: number, inner: Buffer) => ether(0x0800, ipv4(17, udp(50000, dport, inner)));
const gre = (flagsVersion: number, protocol: number, extra: Buffer, inner: Buffer) => Buffer.concat([u16(flagsVersion), u16(protocol), extra, inner]);

function pktapHeader(pid: number, comm: string): Buffer {
  const h = Buffer.alloc(156);
  h.writeUInt32LE(156, 0);
  h.writeUInt32LE(1, 4);
  h.writeUInt32LE(1, 8); // Ethernet follows
  h.write('en0', 12);
  h.writeInt32LE(pid, 52);
  h.write(comm, 56);
  return h;
}

interface Case {
  linkType: number;
  wrap: (frame: Buffer) => Buffer;
  /**
   * A tunnel: `udp` when it is carried in UDP (a flow of its own); `parentIsUdp` when that flow
   * is the inner flow's parent (GRE over UDP names its GRE tunnel instead, as Zeek does).
   */
  tunnel?: { udp: boolean; parentIsUdp?: boolean };
  ipv6?: boolean;
}

const cases: Record<string, Case> = {
  'Ethernet': { linkType: 1, wrap: (f) => f },
  'IEEE 802.1Q': { linkType: 1, wrap: (f) => ether(0x8100, Buffer.concat([hex('0064 0800'), ipOf(f)])) },
  'QinQ (802.1ad)': { linkType: 1, wrap: (f) => ether(0x88a8, Buffer.concat([hex('0064 8100 0065 0800'), ipOf(f)])) },
  'MPLS (two labels)': { linkType: 1, wrap: (f) => ether(0x8847, Buffer.concat([hex('00010040 000211ff'), ipOf(f)])) },
  'PPPoE': { linkType: 1, wrap: (f) => ether(0x8864, Buffer.concat([hex('1100 0001'), u16(ipOf(f).length + 2), hex('0021'), ipOf(f)])) },
  'VN-Tag': { linkType: 1, wrap: (f) => ether(0x8926, Buffer.concat([hex('00000000 0800'), ipOf(f)])) },
  'PBB (802.1ah)': { linkType: 1, wrap: (f) => ether(0x88e7, Buffer.concat([hex('00000100'), MACS, hex('0800'), ipOf(f)])) },
  'Cisco FabricPath': { linkType: 1, wrap: (f) => ether(0x8903, Buffer.concat([hex('0001'), MACS, hex('0800'), ipOf(f)])) },
  'MACsec, integrity only': { linkType: 1, wrap: (f) => ether(0x88e5, Buffer.concat([hex('20 00 00000001 0011223344550001 0800'), ipOf(f), Buffer.alloc(16)])) },
  'NSH': { linkType: 1, wrap: (f) => ether(0x894f, Buffer.concat([hex('0006 0101'), hex('00000aff'), Buffer.alloc(16), ipOf(f)])) },
  '802.3 with LLC/SNAP': { linkType: 1, wrap: (f) => Buffer.concat([MACS, u16(ipOf(f).length + 8), hex('aaaa03000000 0800'), ipOf(f)]) },
  'Linux SLL2': { linkType: 276, wrap: (f) => Buffer.concat([hex('0800 0000 00000001 0001 00 06 020000000001 0000'), ipOf(f)]) },
  'PPP': { linkType: 9, wrap: (f) => Buffer.concat([hex('ff03 0021'), ipOf(f)]) },
  'PPP in HDLC': { linkType: 50, wrap: (f) => Buffer.concat([hex('ff03 0021'), ipOf(f)]) },
  'Cisco HDLC': { linkType: 104, wrap: (f) => Buffer.concat([hex('0f00 0800'), ipOf(f)]) },
  'Frame Relay': { linkType: 107, wrap: (f) => Buffer.concat([hex('0401 03 cc'), ipOf(f)]) },
  '802.11 data': { linkType: 105, wrap: (f) => wifiData(ipOf(f)) },
  '802.11 QoS data': { linkType: 105, wrap: (f) => wifiData(ipOf(f), true) },
  '802.11 with radiotap': { linkType: 127, wrap: (f) => Buffer.concat([hex('0000 0800 00000000'), wifiData(ipOf(f))]) },
  'Apple PKTAP': { linkType: 258, wrap: (f) => Buffer.concat([pktapHeader(4242, 'curl'), f]) },
  'Apple PKTAP as DLT 149': { linkType: 149, wrap: (f) => Buffer.concat([pktapHeader(4242, 'curl'), f]) },
  'IPv4 with total length 0 (TSO)': { linkType: 1, wrap: (f) => { const g = Buffer.from(f); g.writeUInt16BE(0, 16); return g; } },
  'IP in IP': { linkType: 1, wrap: (f) => overIp(4, ipOf(f)), tunnel: { udp: false } },
  'IPv6 in IPv4': { linkType: 1, wrap: (f) => overIp(41, tcp6(f)), tunnel: { udp: false }, ipv6: true },
  'GRE': { linkType: 1, wrap: (f) => overIp(47, gre(0x0000, 0x0800, Buffer.alloc(0), ipOf(f))), tunnel: { udp: false } },
  'GRE with key and sequence': { linkType: 1, wrap: (f) => overIp(47, gre(0x3000, 0x0800, hex('00000001 00000007'), ipOf(f))), tunnel: { udp: false } },
  'PPTP enhanced GRE': { linkType: 1, wrap: (f) => overIp(47, gre(0x3001, 0x880b, Buffer.concat([u16(ipOf(f).length + 4), hex('0001 00000001')]), Buffer.concat([hex('ff03 0021'), ipOf(f)]))), tunnel: { udp: false } },
  'ERSPAN I': { linkType: 1, wrap: (f) => overIp(47, gre(0x0000, 0x88be, Buffer.alloc(0), f)), tunnel: { udp: false } },
  'ERSPAN II': { linkType: 1, wrap: (f) => overIp(47, gre(0x1000, 0x88be, hex('00000001'), Buffer.concat([hex('10640001 00000000'), f]))), tunnel: { udp: false } },
  'ERSPAN III': { linkType: 1, wrap: (f) => overIp(47, gre(0x1000, 0x22eb, hex('00000001'), Buffer.concat([hex('20640001 00000000 00000000'), f]))), tunnel: { udp: false } },
  'Aruba 802.11 in GRE': { linkType: 1, wrap: (f) => overIp(47, gre(0x0000, 0x8200, Buffer.alloc(0), wifiData(ipOf(f), true))), tunnel: { udp: false } },
  'VXLAN': { linkType: 1, wrap: (f) => overUdp(4789, Buffer.concat([hex('08000000 00000100'), f])), tunnel: { udp: true, parentIsUdp: true } },
  'Geneve': { linkType: 1, wrap: (f) => overUdp(6081, Buffer.concat([hex('0000 6558 00000100'), f])), tunnel: { udp: true, parentIsUdp: true } },
  'Teredo': { linkType: 1, wrap: (f) => overUdp(3544, tcp6(f, '20010000')), tunnel: { udp: true, parentIsUdp: true }, ipv6: true },
  'AYIYA': { linkType: 1, wrap: (f) => overUdp(5072, Buffer.concat([hex('41 52 11 04 00000000'), Buffer.alloc(16 + 20), ipOf(f)])), tunnel: { udp: true, parentIsUdp: true } },
  'GTPv1-U': { linkType: 1, wrap: (f) => overUdp(2152, Buffer.concat([hex('30ff'), u16(ipOf(f).length), hex('00000001'), ipOf(f)])), tunnel: { udp: true, parentIsUdp: true } },
  'GTPv1-U with a sequence number and an extension header': {
    linkType: 1,
    wrap: (f) => overUdp(2152, Buffer.concat([hex('36ff'), u16(ipOf(f).length + 8), hex('00000001 0001 00 85'), hex('01 0009 00'), ipOf(f)])),
    tunnel: { udp: true, parentIsUdp: true },
  },
  'GRE over UDP': { linkType: 1, wrap: (f) => overUdp(4754, gre(0x0000, 0x0800, Buffer.alloc(0), ipOf(f))), tunnel: { udp: true } },
};

describe.each(Object.entries(cases))('%s', (_name, c) => {
  it('gives the whole handshake as one flow', async () => {
    const capture = join(scratch(), 'capture.pcap');
    const start = 1_700_000_000_000_000_000n;
    writeFileSync(capture, pcapFile(handshake.map((f, i) => ({ ns: start + BigInt(i) * 1000n, data: c.wrap(f) })), { littleEndian: true, nanos: true, linkType: c.linkType }));
    const rows = await analyzeToRows(capture);
    const inner = rows.filter((r) => r.proto === 'tcp');
    expect(inner.map((r) => [r['id.orig_h'], r['id.orig_p'], r['id.resp_h'], r['id.resp_p'], r.history, r.conn_state, r.orig_pkts, r.resp_pkts])).toEqual([
      [c.ipv6 ? (c.tunnel?.udp ? '2001::1' : '2001:db8::1') : '10.1.0.1', '40000', c.ipv6 ? (c.tunnel?.udp ? '2001::2' : '2001:db8::2') : '10.2.0.2', '443', 'ShA', 'S1', '2', '1'],
    ]);
    const outer = rows.filter((r) => r.proto === 'udp');
    if (!c.tunnel) {
      expect(inner[0].tunnel_parents).toBe('-');
      expect(rows).toHaveLength(1);
    } else if (c.tunnel.udp) {
      expect(outer).toHaveLength(1);
      expect(outer[0].orig_pkts).toBe('3');
      if (c.tunnel.parentIsUdp) expect(inner[0].tunnel_parents).toBe(outer[0].uid);
      else expect(inner[0].tunnel_parents).toMatch(/^C[0-9A-Za-z]{17}$/);
      expect(inner[0].tunnel_parents).not.toBe('-');
    } else {
      expect(rows).toHaveLength(1); // an IP tunnel is not a connection of its own, as in Zeek
      expect(inner[0].tunnel_parents).toMatch(/^C[0-9A-Za-z]{17}$/);
    }
  });
});

describe('per-packet details', () => {
  const d = newDissected();

  it('takes the captured length for an IPv4 total length of 0', () => {
    const frame = Buffer.from(handshake[0]);
    frame.writeUInt16BE(0, 16);
    dissect(d, 1, frame);
    expect([d.ipTotalLen, d.protocol, d.dstPort, d.problem]).toEqual([frame.length - 14, 6, 443, null]);
  });

  it('reads an IPv6 jumbogram\'s length from its hop-by-hop option', () => {
    const payload = Buffer.concat([hex('0035 14e9 0000 0000'), Buffer.alloc(70000 - 8)]); // UDP 53 -> 5353, length 0 (RFC 2675)
    const hopByHop = Buffer.concat([hex('11 00 c2 04'), Buffer.from([0, 1, 0x11, 0x78])]); // UDP next; jumbo length 70008
    const packet = ipv6(0, Buffer.concat([hopByHop, payload]));
    packet.writeUInt16BE(0, 4); // a jumbogram's payload length field is 0
    dissect(d, 101, packet);
    expect([d.ipTotalLen, d.protocol, d.srcPort, d.dstPort, d.problem]).toEqual([40 + 70008, 17, 53, 5353, null]);
  });

  it('says why a packet it cannot read was not dissected', () => {
    dissect(d, 105, Buffer.concat([hex('0841'), Buffer.alloc(30)]));
    expect(d.problem).toBe('802.11 frame is encrypted');
    dissect(d, 1, ether(0x88e5, hex('2c 00 00000001 0011223344550001 0800')));
    expect(d.problem).toBe('MACsec payload is encrypted');
    dissect(d, 147, Buffer.alloc(20));
    expect(d.problem).toBe('link type 147 is not dissected');
  });
});

describe('packets netprov cannot dissect', () => {
  it('are counted and named by import, inspect and analyze, never a silent "0 flows"', () => {
    const dir = scratch();
    const capture = join(dir, 'user.pcap');
    writeFileSync(capture, pcapFile(handshake.map((f, i) => ({ ns: 1_700_000_000_000_000_000n + BigInt(i), data: f })), { littleEndian: true, nanos: false, linkType: 147 }));
    const session = join(dir, 'user.npsession');
    const imported = netprov(['import', capture, '-o', session]);
    expect(imported.status).toBe(0);
    expect(imported.stderr).toMatch(/user\.npsession: 3 packets on link type 147 will not be dissected/);
    const inspected = netprov(['inspect', session]);
    expect(inspected.stderr).toMatch(/user\.npsession: 3 packets on link type 147 will not be dissected/);
    const analysed = netprov(['analyze', session]);
    expect(analysed.status).toBe(0);
    expect(analysed.stderr).toMatch(/user\.npsession: 3 packets not dissected: link type 147 is not dissected/);
  });
});
