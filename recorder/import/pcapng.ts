/**
 * pcapng: sections in either byte order, several interfaces with their own `if_tsresol` and
 * `if_tsoffset`, enhanced/simple/obsolete packet blocks, interface statistics (drops become loss
 * events), and the process of each packet in every dialect captures carry it (pcapng-processes.ts).
 * Every block is checked against its fixed fields and every time against what a clock can give.
 */
import { basename } from 'node:path';
import { InputError } from '../errors.js';
import { Direction, type DirectionCode } from '../session/events.js';
import { Cursor } from './cursor.js';
import { directionFromLinkHeader, linkTypeName } from './linktype.js';
import { PcapngProcesses, type CaptureProcess, type PcapngOption } from './pcapng-processes.js';
import { importLoss, withinSessionClock, type ImportNotes, type ImportSource, type InterfaceNumbers, type PcapRecords, type PcapRecordsReader, type Timed } from './source.js';
import { PCAPNG_SECTION } from './formats.js';

const Block = {
  section: PCAPNG_SECTION,
  interface: 1,
  packetObsolete: 2,
  simplePacket: 3,
  interfaceStats: 5,
  enhancedPacket: 6,
  appleProcess: 0x80000001,
  customCopy: 0x00000bad,
  customNoCopy: 0x40000bad,
} as const;
/** Bytes of fixed fields each block body starts with (after type and length). */
const FIXED_FIELDS: Record<number, { name: string; bytes: number }> = {
  [Block.interface]: { name: 'interface description', bytes: 8 },
  [Block.enhancedPacket]: { name: 'enhanced packet', bytes: 20 },
  [Block.simplePacket]: { name: 'simple packet', bytes: 4 },
  [Block.packetObsolete]: { name: 'packet', bytes: 20 },
  [Block.interfaceStats]: { name: 'interface statistics', bytes: 12 },
  [Block.appleProcess]: { name: 'process information', bytes: 4 },
};
/** Wireshark's custom blocks: its Private Enterprise Number, and the entry that describes a process. */
const WIRESHARK_PEN = 32622;
const WIRESHARK_PROCESS_ENTRY = 3;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** No capture block is this large; a larger length means corruption. */
export const MAX_BLOCK = 16 << 20;
export const ENHANCED_PACKET = Block.enhancedPacket;

interface Iface {
  id: number;
  name: string;
  linkType: number;
  snapLen: number;
  /** Timestamp units per second, as a bigint for exact division. */
  unitsPerSecond: bigint;
  offsetSeconds: number;
  announced: boolean;
  /** Time of the interface's last packet, which its simple packet blocks and time-0 statistics take; null before it has one. */
  last: [number, number] | null;
}

export function openPcapng(cursor: Cursor, file: string, interfaceNumbers: InterfaceNumbers): ImportSource {
  const notes: ImportNotes = { warnings: [] };
  let littleEndian = true;
  let interfaces: Iface[] = [];
  const processes = new PcapngProcesses();
  const linkTypes = new Set<string>();
  let lastSec = 0;
  let lastNsec = 0;

  const u16 = (b: Buffer, at: number) => (littleEndian ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (b: Buffer, at: number) => (littleEndian ? b.readUInt32LE(at) : b.readUInt32BE(at));

  /** The options from `from` to the end of `body`, in the section's byte order unless `le` says little-endian. */
  function options(body: Buffer, from: number, le = littleEndian): PcapngOption[] {
    const out: PcapngOption[] = [];
    let at = from;
    while (at + 4 <= body.length) {
      const code = le ? body.readUInt16LE(at) : body.readUInt16BE(at);
      const length = le ? body.readUInt16LE(at + 2) : body.readUInt16BE(at + 2);
      if (code === 0 || at + 4 + length > body.length) break;
      out.push({ code, value: body.subarray(at + 4, at + 4 + length) });
      at += 4 + ((length + 3) & ~3);
    }
    return out;
  }

  /** A time a session's clock holds (1677 to 2554: pcapng's own timestamps end there; only a hostile if_tsoffset goes past). */
  const plausible = (sec: number) => Number.isSafeInteger(sec) && withinSessionClock(sec);

  function* implausibleTime(block: string, at: number, iface: Iface, sec: number): Generator<Timed> {
    notes.warnings.push(`${file}: ${block} block at offset ${at} has time ${sec} s (timestamp with if_tsoffset ${iface.offsetSeconds} s), beyond any capture clock; packet not imported`);
    yield importLoss(lastSec, lastNsec, file, 1, `${block} block at offset ${at} with an impossible timestamp`);
  }

  /** Absolute time of a timestamp in the interface's units: exact, via bigint only where needed. */
  function timeOf(iface: Iface, high: number, low: number): [number, number] {
    let sec: number;
    let nsec: number;
    if (iface.unitsPerSecond === 1_000_000n && high < 0x200000) {
      const units = high * 4294967296 + low; // < 2^53: exact as a number
      sec = Math.floor(units / 1e6);
      nsec = (units - sec * 1e6) * 1000;
    } else {
      const units = (BigInt(high) << 32n) | BigInt(low);
      sec = Number(units / iface.unitsPerSecond);
      nsec = Number(((units % iface.unitsPerSecond) * 1_000_000_000n) / iface.unitsPerSecond);
    }
    return [sec + iface.offsetSeconds, nsec];
  }

  function readInterface(body: Buffer): Iface {
    const iface: Iface = {
      id: interfaceNumbers.allocate(),
      name: `${basename(file)}#${interfaces.length}`,
      linkType: u16(body, 0),
      snapLen: u32(body, 4),
      unitsPerSecond: 1_000_000n,
      offsetSeconds: 0,
      announced: false,
      last: null,
    };
    for (const { code, value } of options(body, 8)) {
      if (code === 2) iface.name = value.toString('utf8').replace(/\0+$/, '');
      else if (code === 9 && value.length >= 1) {
        const v = value[0];
        iface.unitsPerSecond = v & 0x80 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v);
      } else if (code === 14 && value.length >= 8) {
        iface.offsetSeconds = Number(littleEndian ? value.readBigInt64LE(0) : value.readBigInt64BE(0));
      }
    }
    linkTypes.add(linkTypeName(iface.linkType));
    return iface;
  }

  function readAppleProcess(body: Buffer): void {
    processes.addApple(u32(body, 0), options(body, 4));
  }

  /** A Wireshark custom block holding a process entry (little-endian whatever the section's order); other custom blocks carry nothing netprov records. */
  function readWiresharkProcess(body: Buffer): void {
    if (body.length < 16 || u32(body, 0) !== WIRESHARK_PEN || body.readUInt32LE(4) !== WIRESHARK_PROCESS_ENTRY) return;
    const entryLength = body.readUInt32LE(8);
    if (entryLength < 4 || 12 + entryLength > body.length) return;
    const entry = body.subarray(12, 12 + entryLength);
    processes.addWireshark(entry.readUInt32LE(0), options(entry, 4, true));
  }

  function* announce(iface: Iface, process: CaptureProcess | undefined, sec: number, nsec: number): Generator<Timed> {
    if (!iface.announced) {
      iface.announced = true;
      yield { sec, nsec, event: { kind: 'interface', t: 0, id: iface.id, name: iface.name, linkType: iface.linkType, snapLen: iface.snapLen } };
    }
    if (process && !process.announced) {
      process.announced = true;
      yield {
        sec,
        nsec,
        event: {
          kind: 'process', t: 0, key: process.key, pid: process.pid, version: null, ppid: process.ppid ?? null, parentKey: null, uid: null,
          path: process.path ?? process.name, argv: process.argv ?? null, signingId: null, teamId: null, cdhash: null, isPlatformBinary: null,
        },
      };
    }
  }

  function* packet(
    iface: Iface, sec: number, nsec: number, origLen: number, data: Buffer, direction: DirectionCode, process: CaptureProcess | undefined,
  ): Generator<Timed> {
    yield* announce(iface, process, sec, nsec);
    lastSec = sec;
    lastNsec = nsec;
    iface.last = [sec, nsec];
    const dir = direction !== Direction.unknown ? direction : directionFromLinkHeader(iface.linkType, data);
    yield { sec, nsec, event: { kind: 'packet', t: 0, interfaceId: iface.id, direction: dir, origLen, data, processKey: process?.key ?? null } };
  }

  function* enhancedPacket(body: Buffer, at: number): Generator<Timed> {
    const iface = interfaces[u32(body, 0)];
    if (!iface) {
      notes.warnings.push(`${file}: packet block at offset ${at} names interface ${u32(body, 0)}, which no interface block declared`);
      yield importLoss(lastSec, lastNsec, file, 1, `packet block at offset ${at} has no interface`);
      return;
    }
    const [sec, nsec] = timeOf(iface, u32(body, 4), u32(body, 8));
    if (!plausible(sec)) {
      yield* implausibleTime('enhanced packet', at, iface, sec);
      return;
    }
    const capLen = Math.min(u32(body, 12), body.length - 20);
    const origLen = u32(body, 16);
    const data = body.subarray(20, 20 + capLen);
    let direction: DirectionCode = Direction.unknown;
    const hints = { apple: null as number | null, appleEffective: null as number | null, comments: [] as string[], pid: 0 };
    for (const { code, value } of options(body, 20 + ((capLen + 3) & ~3))) {
      if (code === 2 && value.length >= 4) {
        const bits = u32(value, 0) & 3;
        direction = bits === 1 ? Direction.in : bits === 2 ? Direction.out : Direction.unknown;
      } else if (code === 0x8001 && value.length >= 4) hints.apple = u32(value, 0);
      else if (code === 0x8003 && value.length >= 4) hints.appleEffective = u32(value, 0);
      else if (code === 8 && value.length >= 8) hints.pid = u32(value, 0); // epb_processid_threadid: process id, thread id
      else if (code === 1) hints.comments.push(value.toString('utf8'));
    }
    const process = processes.forPacket(hints, sec, nsec);
    yield* packet(iface, sec, nsec, origLen, data, direction, process);
  }

  function* simplePacket(body: Buffer): Generator<Timed> {
    const iface = interfaces[0];
    if (!iface) return;
    const origLen = u32(body, 0);
    const capLen = Math.min(origLen, iface.snapLen || origLen, body.length - 4);
    // A simple packet block has no timestamp: it takes the time of its interface's last packet.
    const [sec, nsec] = iface.last ?? [lastSec, lastNsec];
    yield* packet(iface, sec, nsec, origLen, body.subarray(4, 4 + capLen), Direction.unknown, undefined);
  }

  function* obsoletePacket(body: Buffer, at: number): Generator<Timed> {
    const iface = interfaces[u16(body, 0)];
    if (!iface) return;
    const [sec, nsec] = timeOf(iface, u32(body, 4), u32(body, 8));
    if (!plausible(sec)) return yield* implausibleTime('packet', at, iface, sec);
    const capLen = Math.min(u32(body, 12), body.length - 20);
    yield* packet(iface, sec, nsec, u32(body, 16), body.subarray(20, 20 + capLen), Direction.unknown, undefined);
  }

  function* interfaceStats(body: Buffer, at: number): Generator<Timed> {
    const iface = interfaces[u32(body, 0)];
    if (!iface) return;
    // Time 0 is a writer that knew no time: the counts still stand, at the interface's last packet.
    let [sec, nsec] = u32(body, 4) === 0 && u32(body, 8) === 0 ? (iface.last ?? [lastSec, lastNsec]) : timeOf(iface, u32(body, 4), u32(body, 8));
    if (!plausible(sec)) {
      notes.warnings.push(`${file}: interface statistics block at offset ${at} has time ${sec} s (timestamp with if_tsoffset ${iface.offsetSeconds} s); its counts are kept at the last packet's time`);
      [sec, nsec] = iface.last ?? [lastSec, lastNsec];
    }
    for (const { code, value } of options(body, 12)) {
      if ((code === 5 || code === 7) && value.length >= 8) {
        const claimed = littleEndian ? value.readBigUInt64LE(0) : value.readBigUInt64BE(0);
        // A count past 2^53 is no real capture's: it is kept as a loss, marked, at the largest exact count.
        const count = claimed > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(claimed);
        if (count > 0) {
          const where = code === 5 ? 'interface' : 'operating system';
          const reason = `dropped by the ${where} during capture (pcapng interface statistics${count === Number(claimed) ? '' : `, which claim ${claimed}`})`;
          yield { sec, nsec, event: { kind: 'loss', t: 0, source: `capture:${iface.name}`, count, reason } };
        }
      }
    }
  }

  function* blocks(): Generator<Timed> {
    while (cursor.ensure(12)) {
      // Every event yielded so far has been handled: packets taken here come after them.
      if (bulk) offer(bulk);
      if (!cursor.ensure(12)) break;
      const at = cursor.offset;
      const type = cursor.buf.readUInt32LE(cursor.pos);
      if (type === Block.section) {
        const bom = cursor.buf.readUInt32LE(cursor.pos + 8);
        if (bom !== BYTE_ORDER_MAGIC && bom !== 0x4d3c2b1a) {
          throw new InputError(`${file}: section header at offset ${at} has no byte-order magic`);
        }
        littleEndian = bom === BYTE_ORDER_MAGIC;
        interfaces = [];
        processes.newSection();
      }
      const blockType = u32(cursor.buf, cursor.pos);
      const length = u32(cursor.buf, cursor.pos + 4);
      if (length < 12 || length % 4 !== 0 || length > MAX_BLOCK) {
        notes.warnings.push(`${file}: block at offset ${at} has impossible length ${length}; stopped reading there`);
        yield importLoss(lastSec, lastNsec, file, 1, `unreadable pcapng block at offset ${at}; rest of file not read`);
        return;
      }
      if (!cursor.ensure(length)) {
        notes.warnings.push(`${file}: file ends inside the block at offset ${at}`);
        yield importLoss(lastSec, lastNsec, file, 1, `pcapng block at offset ${at} cut short by the end of the file`);
        return;
      }
      const body = cursor.buf.subarray(cursor.pos + 8, cursor.pos + length - 4);
      cursor.skip(length);
      const fixed = FIXED_FIELDS[blockType];
      if (fixed !== undefined && body.length < fixed.bytes) {
        // Too short for its own fixed fields: kept out, said, counted. An interface or process
        // block still takes its place in the numbering the packets after it refer to.
        notes.warnings.push(`${file}: ${fixed.name} block at offset ${at} is ${body.length} bytes, shorter than its ${fixed.bytes} bytes of fixed fields`);
        if (blockType === Block.interface) interfaces.push(readInterface(Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0])));
        else if (blockType === Block.appleProcess) processes.addUnreadableApple();
        else yield importLoss(lastSec, lastNsec, file, 1, `pcapng ${fixed.name} block at offset ${at} shorter than its fixed fields`);
        continue;
      }
      switch (blockType) {
        case Block.interface:
          interfaces.push(readInterface(body));
          break;
        case Block.enhancedPacket:
          yield* enhancedPacket(body, at);
          break;
        case Block.simplePacket:
          yield* simplePacket(body);
          break;
        case Block.packetObsolete:
          yield* obsoletePacket(body, at);
          break;
        case Block.interfaceStats:
          yield* interfaceStats(body, at);
          break;
        case Block.appleProcess:
          readAppleProcess(body);
          break;
        case Block.customCopy:
        case Block.customNoCopy:
          readWiresharkProcess(body);
          break;
        default: // name resolution, decryption secrets, custom blocks: nothing netprov records
      }
    }
    if (cursor.hasMore()) {
      notes.warnings.push(`${file}: file ends inside the block header at offset ${cursor.offset}`);
      yield importLoss(lastSec, lastNsec, file, 1, `pcapng block header at offset ${cursor.offset} cut short by the end of the file`);
    }
  }

  let bulk: { reader: PcapRecordsReader; records: PcapRecords } | null = null;

  /**
   * Lets the bulk reader take enhanced packet blocks from the window, when the next block is one
   * whose interface has been announced and whose times need no more than µs or ns units (no
   * if_tsoffset); the block it stops at is blocks()'s.
   */
  function offer({ reader, records }: { reader: PcapRecordsReader; records: PcapRecords }): void {
    const b = cursor.buf;
    const p = cursor.pos;
    if (cursor.available < 32 || u32(b, p) !== Block.enhancedPacket) return;
    const number = u32(b, p + 8);
    const iface = interfaces[number];
    if (!iface?.announced || iface.offsetSeconds !== 0 || (iface.unitsPerSecond !== 1_000_000n && iface.unitsPerSecond !== 1_000_000_000n)) return;
    records.buf = b;
    records.pos = p;
    records.end = p + cursor.available;
    records.blockInterface = number;
    records.littleEndian = littleEndian;
    records.nanos = iface.unitsPerSecond === 1_000_000_000n;
    records.linkType = iface.linkType;
    records.interfaceId = iface.id;
    const taken = reader(records);
    if (!taken) return;
    cursor.skip(taken.pos - p);
    lastSec = taken.lastSec;
    lastNsec = taken.lastNsec;
    iface.last = [lastSec, lastNsec];
  }

  const offerRecords = (reader: PcapRecordsReader, [startSec, startNsec]: [number, number]) => {
    const records: PcapRecords = { buf: cursor.buf, pos: 0, end: 0, layout: 'pcapng', blockInterface: 0, littleEndian, nanos: false, linkType: 0, interfaceId: 0, startSec, startNsec, untilT: Infinity };
    bulk = { reader, records };
  };

  return {
    file,
    offerRecords,
    get description() {
      return `pcapng, ${[...linkTypes].join(' + ') || 'no interfaces yet'}`;
    },
    events: blocks(),
    notes,
    close: () => cursor.close(),
  };
}
