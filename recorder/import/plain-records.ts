/**
 * The records of an offer (source.ts PcapRecords) that a consumer may take straight from the
 * bytes, read one at a time as pcap.ts and pcapng.ts would read them: a classic pcap's record
 * whole in the window; a pcapng's enhanced packet block of the offered interface, whole, with no
 * option but epb_flags, with a time a session's clock holds. Anything else is the reader's, one
 * event at a time. analyzer/native/src/np_pcap_decode.c holds the same rules in C.
 */
import { sessionNs } from './merge.js';
import { MAX_RECORD, u32Reader } from './pcap.js';
import { ENHANCED_PACKET, MAX_BLOCK } from './pcapng.js';
import { withinSessionClock, type PcapRecords } from './source.js';

const u16le = (b: Buffer, at: number) => b[at] | (b[at + 1] << 8);
const u16be = (b: Buffer, at: number) => (b[at] << 8) | b[at + 1];

export class PlainRecords {
  /**
   * The record `at` read last: its packet bytes [data, data + capLen), where the next one starts,
   * its own time, the direction its epb_flags say (Direction.in or out; 0: none, the link
   * header's then).
   */
  readonly record = { data: 0, capLen: 0, origLen: 0, next: 0, sec: 0, nsec: 0, direction: 0 };
  private records!: PcapRecords;
  private u32 = u32Reader(true);
  private u16 = u16le;
  /** The seconds and remainder of a pcapng time's high word (`high` × 2^32 units), exact, for the last high word seen. */
  private readonly highWord = { high: -1, perSecond: 0, sec: 0, rest: 0 };

  /** Reads the records of this offer from now on. */
  offer(records: PcapRecords): void {
    this.records = records;
    this.u32 = u32Reader(records.littleEndian);
    this.u16 = records.littleEndian ? u16le : u16be;
  }

  /** Whether a plain record starts at `pos` (then `record` holds it). */
  at(pos: number): boolean {
    return this.records.layout === 'pcapng' ? this.pcapngRecord(pos) : this.pcapRecord(pos);
  }

  /** Its time from the session start, in ns (a double: exact within 2^53). */
  sessionTime(): number {
    return sessionNs(this.record.sec, this.record.nsec, this.records.startSec, this.records.startNsec);
  }

  private pcapRecord(pos: number): boolean {
    const { buf, end, nanos } = this.records;
    const u32 = this.u32;
    if (pos + 16 > end) return false;
    const capLen = u32(buf, pos + 8);
    if (capLen > MAX_RECORD || pos + 16 + capLen > end) return false;
    // A fraction past a second (a damaged µs field) carries into sec.
    const nsecRaw = u32(buf, pos + 4) * (nanos ? 1 : 1000);
    const r = this.record;
    r.sec = u32(buf, pos) + Math.floor(nsecRaw / 1e9);
    r.nsec = nsecRaw % 1e9;
    r.data = pos + 16;
    r.capLen = capLen;
    r.origLen = u32(buf, pos + 12);
    r.next = pos + 16 + capLen;
    r.direction = 0;
    return true;
  }

  private pcapngRecord(pos: number): boolean {
    const { buf, end, nanos, blockInterface } = this.records;
    const u32 = this.u32;
    if (pos + 32 > end) return false;
    const length = u32(buf, pos + 4);
    if (u32(buf, pos) !== ENHANCED_PACKET || length < 32 || length % 4 !== 0 || length > MAX_BLOCK || pos + length > end) return false;
    if (u32(buf, pos + 8) !== blockInterface) return false;
    const body = length - 12;
    const capLen = u32(buf, pos + 20);
    if (capLen > body - 20) return false;
    // As pcapng.ts options(): up to code 0 (the end of options) or an option that overruns the
    // block; the last epb_flags (2) says the direction; any other option can name a process.
    const u16 = this.u16;
    let direction = 0;
    for (let at = 20 + ((capLen + 3) & ~3); body - at >= 4; ) {
      const code = u16(buf, pos + 8 + at);
      const length = u16(buf, pos + 10 + at);
      if (code === 0 || length > body - at - 4) break;
      if (code !== 2) return false;
      if (length >= 4) {
        const bits = u32(buf, pos + 12 + at) & 3;
        direction = bits === 1 || bits === 2 ? bits : 0;
      }
      at += 4 + ((length + 3) & ~3);
    }
    const perSecond = nanos ? 1e9 : 1e6;
    const high = u32(buf, pos + 12);
    const word = this.highWord;
    if (high !== word.high || perSecond !== word.perSecond) {
      const units = BigInt(high) << 32n;
      word.high = high;
      word.perSecond = perSecond;
      word.sec = Number(units / BigInt(perSecond));
      word.rest = Number(units % BigInt(perSecond));
    }
    const rest = word.rest + u32(buf, pos + 16);
    const sec = word.sec + Math.floor(rest / perSecond);
    if (!withinSessionClock(sec)) return false;
    const r = this.record;
    r.sec = sec;
    r.nsec = (rest % perSecond) * (1e9 / perSecond);
    r.data = pos + 28;
    r.capLen = capLen;
    r.origLen = u32(buf, pos + 24);
    r.next = pos + length;
    r.direction = direction;
    return true;
  }
}
