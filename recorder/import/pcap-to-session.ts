/**
 * `import` of classic pcaps and pcapngs: their records copied from the reader's window straight
 * into the session writer's chunk as packet events, with no event object, merge step or check per packet.
 * The bytes are the ones `SessionWriter.append` writes for the same packets
 * (test/import/pcap-to-session.test.ts holds the two paths to the same file). Measured at
 * 2,000,000 packets: the reader's and the writer's JavaScript per packet was ~1.0 s of the main
 * thread's 2.2 s.
 *
 * It takes only the plain case and stops at anything else, which pcap.ts or pcapng.ts then reads
 * one record at a time as before: a record cut off by the window or the file, an impossible
 * length, another pcapng block than an enhanced packet of the offered interface without options, a
 * PKTAP packet (it names a process), a link type netprov does not dissect (counted by the
 * import's warning), a time past 2^53 ns from the session start or not before another input's next
 * event, a packet too big for the room left in the chunk.
 */
import { directionAt, isDissected, LinkType } from './linktype.js';
import { MAX_RECORD, u32Reader } from './pcap.js';
import { ENHANCED_PACKET, MAX_BLOCK } from './pcapng.js';
import { withinSessionClock, type PcapRecords, type PcapRecordsReader, type PcapRecordsTaken } from './source.js';
import { PACKET_WIRE_OVERHEAD, writePacketHead } from '../session/packet-wire.js';
import type { PacketsWritten, SessionWriter } from '../session/writer.js';

const takesLinkType = (linkType: number): boolean => isDissected(linkType) && linkType !== LinkType.pktap && linkType !== LinkType.pktapApple;

/** A reader for `offerRecords` that writes the records it takes through `writer`. */
export function pcapToSession(writer: SessionWriter): PcapRecordsReader {
  const taken: PcapRecordsTaken = { pos: 0, packets: 0, lastSec: 0, lastNsec: 0 };
  const written: PacketsWritten = { end: 0, packets: 0, maxT: 0 };
  let records: PcapRecords;
  let u32 = u32Reader(true);
  /** The record `pcapRecord` or `pcapngRecord` read last: its packet bytes, where the next starts, its own time. */
  const record = { data: 0, capLen: 0, origLen: 0, next: 0, sec: 0, nsec: 0 };

  /** As pcap.ts reads a record: false where it would not read one whole from the window. */
  function pcapRecord(buf: Buffer, pos: number, end: number): boolean {
    if (pos + 16 > end) return false;
    const capLen = u32(buf, pos + 8);
    if (capLen > MAX_RECORD || pos + 16 + capLen > end) return false;
    // A fraction past a second (a damaged µs field) carries into sec.
    const nsecRaw = u32(buf, pos + 4) * (records.nanos ? 1 : 1000);
    record.sec = u32(buf, pos) + Math.floor(nsecRaw / 1e9);
    record.nsec = nsecRaw % 1e9;
    record.data = pos + 16;
    record.capLen = capLen;
    record.origLen = u32(buf, pos + 12);
    record.next = pos + 16 + capLen;
    return true;
  }

  /** The seconds and remainder of a pcapng time's high word (`high` × 2^32 units), exact, for the last high word seen. */
  const highWord = { high: -1, perSecond: 0, sec: 0, rest: 0 };

  /**
   * As pcapng.ts reads an enhanced packet block of the offered interface without options (see
   * PcapRecords), with a time a session's clock holds: false for anything else.
   */
  function pcapngRecord(buf: Buffer, pos: number, end: number): boolean {
    if (pos + 32 > end) return false;
    const length = u32(buf, pos + 4);
    if (u32(buf, pos) !== ENHANCED_PACKET || length < 32 || length % 4 !== 0 || length > MAX_BLOCK || pos + length > end) return false;
    if (u32(buf, pos + 8) !== records.blockInterface) return false;
    const body = length - 12;
    const capLen = u32(buf, pos + 20);
    if (capLen > body - 20) return false;
    const options = 20 + ((capLen + 3) & ~3);
    if (body - options >= 4 && (buf[pos + 8 + options] | buf[pos + 9 + options]) !== 0) return false;
    const perSecond = records.nanos ? 1e9 : 1e6;
    const high = u32(buf, pos + 12);
    if (high !== highWord.high || perSecond !== highWord.perSecond) {
      const units = BigInt(high) << 32n;
      Object.assign(highWord, { high, perSecond, sec: Number(units / BigInt(perSecond)), rest: Number(units % BigInt(perSecond)) });
    }
    const rest = highWord.rest + u32(buf, pos + 16);
    const sec = highWord.sec + Math.floor(rest / perSecond);
    if (!withinSessionClock(sec)) return false;
    record.sec = sec;
    record.nsec = (rest % perSecond) * (1e9 / perSecond);
    record.data = pos + 28;
    record.capLen = capLen;
    record.origLen = u32(buf, pos + 24);
    record.next = pos + length;
    return true;
  }

  /** Copies records from `taken.pos` into `chunk`: see PacketFill. */
  function fill(chunk: Buffer, at: number, full: number, limit: number): PacketsWritten {
    const { buf, end, linkType, interfaceId, startSec, startNsec, untilT } = records;
    const recordAt = records.layout === 'pcapng' ? pcapngRecord : pcapRecord;
    let pos = taken.pos;
    let packets = 0;
    let maxT = -Infinity;
    while (at < full && recordAt(buf, pos, end)) {
      const { data, capLen } = record;
      if (at + PACKET_WIRE_OVERHEAD + capLen > limit) break;
      const t = (record.sec - startSec) * 1e9 + (record.nsec - startNsec);
      if (!Number.isSafeInteger(t) || t >= untilT) break;
      at = writePacketHead(chunk, at, t, interfaceId, directionAt(linkType, buf, data, capLen), record.origLen, capLen);
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
    u32 = u32Reader(offered.littleEndian);
    taken.pos = offered.pos;
    taken.packets = 0;
    writer.appendPackets(fill);
    return taken.packets > 0 ? taken : null;
  };
}
