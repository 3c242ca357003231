/**
 * Zeek's rules for when one 5-tuple is one connection or several, and conn_state for the
 * common endings, on synthetic sessions whose right answers follow from Zeek's documented
 * defaults (udp_inactivity_timeout 1 min, tcp_attempt_delay 5 s, conn.log conn_state table).
 */
import { describe, expect, it } from 'vitest';
import { analyze } from '../../analyzer/analyze.js';
import { query } from '../../analyzer/db/database.js';
import { TCP, tcpFrame, udpFrame } from '../helpers/frames.js';
import { MS, S, SyntheticSession } from '../helpers/synthetic.js';

async function flowsOf(build: (s: SyntheticSession) => void) {
  const s = new SyntheticSession();
  build(s);
  const { db } = await analyze([s.write()], { db: null });
  try {
    return await query(db, 'SELECT orig_h, orig_p, resp_p, conn_state, history, orig_pkts, resp_pkts, missed_bytes, orig_bytes FROM flows ORDER BY start_t');
  } finally {
    db.close();
  }
}

const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 };
const s = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000 };

describe('connection boundaries', () => {
  it('splits a UDP 5-tuple after a minute of silence, not before', async () => {
    const flows = await flowsOf((x) => {
      const dgram = udpFrame('10.0.0.1', '10.0.0.9', 5000, 9999, Buffer.from('ping'));
      x.packets(1 * S, [dgram]);
      x.packets(59 * S, [dgram]); // 58 s later: same connection
      x.packets(121 * S, [dgram]); // 62 s later: a new one
    });
    expect(flows.map((f) => f.orig_pkts)).toEqual([2, 1]);
  });

  it('makes a SYN retried after the 5 s attempt delay a new attempt', async () => {
    const flows = await flowsOf((x) => {
      const syn = tcpFrame({ ...c, seq: 100, ack: 0, flags: TCP.SYN });
      x.packets(1 * S, [syn]);
      x.packets(2 * S, [syn]); // a retransmission within the attempt: same row, history 'S' once
      x.packets(8 * S, [syn]);
    });
    expect(flows.map((f) => [f.conn_state, f.history, f.orig_pkts])).toEqual([['S0', 'S', 2], ['S0', 'S', 1]]);
  });

  it('reports a refused connection as REJ and a reset one as RSTO', async () => {
    const refused = await flowsOf((x) => x.packets(S, [
      tcpFrame({ ...c, seq: 100, ack: 0, flags: TCP.SYN }),
      tcpFrame({ ...s, seq: 0, ack: 101, flags: TCP.RST | TCP.ACK }),
    ]));
    expect(refused.map((f) => [f.conn_state, f.history])).toEqual([['REJ', 'Sr']]);
    const reset = await flowsOf((x) => x.packets(S, [
      tcpFrame({ ...c, seq: 100, ack: 0, flags: TCP.SYN }),
      tcpFrame({ ...s, seq: 500, ack: 101, flags: TCP.SYN | TCP.ACK }),
      tcpFrame({ ...c, seq: 101, ack: 501, flags: TCP.ACK }),
      tcpFrame({ ...c, seq: 101, ack: 501, flags: TCP.RST }),
    ]));
    expect(reset.map((f) => [f.conn_state, f.history])).toEqual([['RSTO', 'ShAR']]);
  });

  it('counts bytes the receiver acknowledged but the capture never saw as missed', async () => {
    const flows = await flowsOf((x) => x.packets(S, [
      tcpFrame({ ...c, seq: 100, ack: 0, flags: TCP.SYN }),
      tcpFrame({ ...s, seq: 500, ack: 101, flags: TCP.SYN | TCP.ACK }),
      tcpFrame({ ...c, seq: 101, ack: 501, flags: TCP.ACK }),
      tcpFrame({ ...c, seq: 101, ack: 501, flags: TCP.ACK | TCP.PSH, payload: 100 }),
      // 300 bytes at seq 201..500 never captured
      tcpFrame({ ...c, seq: 501, ack: 501, flags: TCP.ACK | TCP.PSH, payload: 100 }),
      tcpFrame({ ...s, seq: 501, ack: 601, flags: TCP.ACK }),
    ]));
    // 'G': a content gap on the originator's side, flagged when the responder's ACK passes it.
    expect(flows[0]).toMatchObject({ missed_bytes: 300, orig_bytes: 500, history: 'ShADaG' });
  });
});

describe('IP fragments', () => {
  /** A UDP datagram of `payload` bytes from 10.0.0.1:5000 to 10.0.0.2:7000, cut into IPv4 fragments of `size` data bytes. */
  function fragments(payload: number, size: number, id: number): Buffer[] {
    const udp = Buffer.alloc(8 + payload, 0x61);
    udp.writeUInt16BE(5000, 0);
    udp.writeUInt16BE(7000, 2);
    udp.writeUInt16BE(8 + payload, 4);
    const out: Buffer[] = [];
    for (let offset = 0; offset < udp.length; offset += size) {
      const part = udp.subarray(offset, Math.min(udp.length, offset + size));
      const ip = Buffer.alloc(20);
      ip[0] = 0x45;
      ip.writeUInt16BE(20 + part.length, 2);
      ip.writeUInt16BE(id, 4);
      ip.writeUInt16BE((offset + size < udp.length ? 0x2000 : 0) | (offset / 8), 6);
      ip[8] = 64;
      ip[9] = 17;
      ip.set([10, 0, 0, 1], 12);
      ip.set([10, 0, 0, 2], 16);
      out.push(Buffer.concat([Buffer.from('020000000002020000000001', 'hex'), Buffer.from([0x08, 0x00]), ip, part]));
    }
    return out;
  }

  it('count a fragmented datagram once, whole, when its last fragment arrives (as Zeek does)', async () => {
    const pieces = fragments(3000, 1480, 77);
    expect(pieces).toHaveLength(3);
    const flows = await flowsOf((x) => x.packets(S, pieces));
    expect(flows).toEqual([expect.objectContaining({ orig_p: 5000, resp_p: 7000, orig_pkts: 1, orig_bytes: null })]);
    const s = new SyntheticSession();
    s.packets(S, pieces);
    const { db } = await analyze([s.write()], { db: null });
    try {
      expect(await query(db, 'SELECT orig_pkts, orig_ip_bytes FROM flows')).toEqual([{ orig_pkts: 1, orig_ip_bytes: 20 + 3008 }]);
      expect(await query(db, 'SELECT packet_no, flow_uid IS NOT NULL AS tracked FROM packets ORDER BY packet_no')).toEqual([
        { packet_no: 0, tracked: false },
        { packet_no: 1, tracked: false },
        { packet_no: 2, tracked: true },
      ]);
    } finally {
      db.close();
    }
  });

  it('leave a datagram that never completes out of the flows', async () => {
    const [first, , last] = fragments(3000, 1480, 78);
    expect(await flowsOf((x) => x.packets(S, [first, last]))).toEqual([]);
  });
});
