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
