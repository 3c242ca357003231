/**
 * `import` of classic pcaps and pcapngs: their records copied from the reader's window straight
 * into the session writer's chunk as packet events, with no event object, merge step or check per
 * packet.
 * The bytes are the ones `SessionWriter.append` writes for the same packets
 * (test/import/pcap-to-session.test.ts holds the two paths to the same file). Measured at
 * 2,000,000 packets: the reader's and the writer's JavaScript per packet was ~1.0 s of the main
 * thread's 2.2 s.
 *
 * It takes only the plain case (plain-records.ts) and stops at anything else, which pcap.ts or
 * pcapng.ts then reads one record at a time as before: a record cut off by the window or the
 * file, an impossible length, another pcapng block than an enhanced packet of the offered
 * interface with no option but epb_flags, a PKTAP packet (it names a process), a link type
 * netprov does not dissect (counted by the import's warning), a time past 2^53 ns from the
 * session start or not before another input's next event, a packet too big for the room left in
 * the chunk.
 */
import { directionAt, isDissected, LinkType } from './linktype.js';
import { PlainRecords } from './plain-records.js';
import type { PcapRecords, PcapRecordsReader, PcapRecordsTaken } from './source.js';
import { PACKET_WIRE_OVERHEAD, writePacketHead } from '../session/packet-wire.js';
import type { EventVisitor } from '../session/scan.js';
import type { PacketsWritten, SessionWriter } from '../session/writer.js';

const takesLinkType = (linkType: number): boolean => isDissected(linkType) && linkType !== LinkType.pktap && linkType !== LinkType.pktapApple;

/** A reader for `offerRecords` that writes the records it takes through `writer`. */
export function pcapToSession(writer: SessionWriter): PcapRecordsReader {
  const taken: PcapRecordsTaken = { pos: 0, packets: 0, lastSec: 0, lastNsec: 0 };
  const written: PacketsWritten = { end: 0, packets: 0, maxT: 0 };
  const plain = new PlainRecords();
  const { record } = plain;
  let records: PcapRecords;

  /** Copies records from `taken.pos` into `chunk`: see PacketFill. */
  function fill(chunk: Buffer, at: number, full: number, limit: number): PacketsWritten {
    const { buf, linkType, interfaceId, untilT } = records;
    let pos = taken.pos;
    let packets = 0;
    let maxT = -Infinity;
    while (at < full && plain.at(pos)) {
      const { data, capLen } = record;
      if (at + PACKET_WIRE_OVERHEAD + capLen > limit) break;
      const t = plain.sessionTime();
      if (!Number.isSafeInteger(t) || t >= untilT) break;
      at = writePacketHead(chunk, at, t, interfaceId, record.direction || directionAt(linkType, buf, data, capLen), record.origLen, capLen);
      buf.copy(chunk, at, data, data + capLen);
      at += capLen;
      pos = record.next;
      packets++;
      if (t > maxT) maxT = t;
      taken.lastSec = record.sec;
      taken.lastNsec = record.nsec;
    }
    taken.pos = pos;
    taken.packets += packets;
    written.end = at;
    written.packets = packets;
    written.maxT = maxT;
    return written;
  }

  return (offered) => {
    if (!takesLinkType(offered.linkType)) return null;
    records = offered;
    plain.offer(offered);
    taken.pos = offered.pos;
    taken.packets = 0;
    writer.appendPackets(fill);
    return taken.packets > 0 ? taken : null;
  };
}

/**
 * `analyze --save`: the records copied into the session as `pcapToSession` copies them, and the
 * same records handed to the analyzer — as many at a time as its own reader takes (the native
 * decoder), each other one as a packet, as the merge would have handed it.
 */
export function savedAndVisited(writer: SessionWriter, visitor: EventVisitor): PcapRecordsReader {
  const toSession = pcapToSession(writer);
  const plain = new PlainRecords();
  const { record } = plain;
  const taken: PcapRecordsTaken = { pos: 0, packets: 0, lastSec: 0, lastNsec: 0 };
  return (records) => {
    const saved = toSession(records);
    if (!saved) return null;
    Object.assign(taken, saved);
    const { pos: from, end } = records;
    records.end = taken.pos;
    plain.offer(records);
    try {
      for (let pos = from; pos < taken.pos; ) {
        records.pos = pos;
        const decoded = visitor.pcapRecords?.(records);
        if (decoded) {
          pos = decoded.pos;
          continue;
        }
        if (!plain.at(pos)) throw new Error(`savedAndVisited: no record at ${pos} of those the session took`);
        const direction = record.direction || directionAt(records.linkType, records.buf, record.data, record.capLen);
        visitor.packet(plain.sessionTime(), records.interfaceId, direction, record.origLen, records.buf, record.data, record.data + record.capLen, null);
        pos = record.next;
      }
    } finally {
      records.pos = from;
      records.end = end;
    }
    return taken;
  };
}
