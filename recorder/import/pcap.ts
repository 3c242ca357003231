/**
 * Classic libpcap files: both byte orders, µs and ns timestamps (magic a1b2c3d4 / a1b23c4d).
 * A record cut short at the end of the file is reported and counted as a loss, never dropped
 * silently; an impossible record length stops the read with its offset.
 */
import { basename } from 'node:path';
import { InputError } from '../errors.js';
import { Cursor } from './cursor.js';
import { directionFromLinkHeader, LinkType, linkTypeName } from './linktype.js';
import type { PacketEvent } from '../session/events.js';
import { importLoss, type ImportNotes, type ImportSource, type InterfaceNumbers, type PcapRecords, type PcapRecordsReader, type Timed } from './source.js';
import { PCAP_MAGIC_NS as MAGIC_NS, PCAP_MAGIC_US as MAGIC_US } from './formats.js';
/** Larger than any real link MTU with headers; a bigger record length means corruption. */
export const MAX_RECORD = 256 * 1024;

// Byte arithmetic rather than Buffer.readUInt32*: their bounds checks were ~10% of reading a pcap.
const u32le = (b: Buffer, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
const u32be = (b: Buffer, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
/** Reads a pcap's 32-bit fields in its byte order. */
export const u32Reader = (littleEndian: boolean) => (littleEndian ? u32le : u32be);

export function openPcap(cursor: Cursor, file: string, interfaces: InterfaceNumbers): ImportSource {
  if (!cursor.ensure(24)) throw new InputError(`${file}: pcap global header is cut short (${cursor.available} bytes)`);
  const head = cursor.buf.subarray(cursor.pos, cursor.pos + 24);
  const littleEndian = [MAGIC_US, MAGIC_NS].includes(head.readUInt32LE(0));
  const u32 = u32Reader(littleEndian);
  const nanos = u32(head, 0) === MAGIC_NS;
  const snapLen = u32(head, 16);
  const linkType = u32(head, 20) & 0xffff; // the upper bits carry FCS length
  cursor.skip(24);
  const notes: ImportNotes = { warnings: [] };
  const interfaceId = interfaces.allocate();
  const description = `pcap, ${nanos ? 'ns' : 'µs'}, ${linkTypeName(linkType)}, ${littleEndian ? 'little' : 'big'}-endian`;

  const pktap = linkType === LinkType.pktap || linkType === LinkType.pktapApple;
  const processes = new Set<string>();

  // An iterator written out rather than a generator, handing out one packet event refilled per
  // record: the generator and three objects per packet were a fifth of the decoding thread.
  // Every consumer (the merge, the session writer, the analyzer's visitor) is done with a packet
  // before it asks for the next; interfaces, processes and losses are new objects, kept by some.
  const packet: PacketEvent & { tExact?: bigint } = { kind: 'packet', t: 0, tExact: undefined, interfaceId, direction: 0, origLen: 0, data: EMPTY, processKey: null };
  const timed: Timed = { sec: 0, nsec: 0, event: packet };
  const result: IteratorResult<Timed> = { done: false, value: timed };
  const done: IteratorResult<Timed> = { done: true, value: undefined };
  /** Events due before the packet in `timed` (the interface, a PKTAP process), oldest first. */
  const before: Timed[] = [];
  let announced = false;
  let packetReady = false;
  let ended = false;
  let lastSec = 0;
  let lastNsec = 0;
  let bulk: { reader: PcapRecordsReader; records: PcapRecords } | null = null;

  const lossAtEnd = (warning: string, reason: string): IteratorResult<Timed> => {
    ended = true;
    notes.warnings.push(`${file}: ${warning}`);
    return { done: false, value: importLoss(lastSec, lastNsec, file, 1, reason) };
  };

  /** Reads one record: the packet is ready (and maybe events before it), or the iteration's last result. */
  function readRecord(): IteratorResult<Timed> | null {
    if (!cursor.ensure(16)) {
      if (cursor.hasMore()) return lossAtEnd(`file ends inside the record header at offset ${cursor.offset}`, `pcap record header at offset ${cursor.offset} cut short by the end of the file`);
      ended = true;
      return done;
    }
    const at = cursor.offset;
    const b = cursor.buf;
    const p = cursor.pos;
    const sec = u32(b, p);
    const frac = u32(b, p + 4);
    const capLen = u32(b, p + 8);
    const origLen = u32(b, p + 12);
    if (capLen > MAX_RECORD) return lossAtEnd(`record at offset ${at} claims ${capLen} captured bytes; stopped reading there`, `unreadable pcap record at offset ${at}; rest of file not read`);
    if (!cursor.ensure(16 + capLen)) return lossAtEnd(`file ends inside the packet record at offset ${at}`, `pcap record at offset ${at} cut short by the end of the file`);
    const nsecRaw = nanos ? frac : frac * 1000;
    const secNorm = sec + Math.floor(nsecRaw / 1e9);
    const nsec = nsecRaw % 1e9;
    const data = cursor.buf.subarray(cursor.pos + 16, cursor.pos + 16 + capLen);
    cursor.skip(16 + capLen);
    if (!announced) {
      announced = true;
      before.push({ sec: secNorm, nsec, event: { kind: 'interface', t: 0, id: interfaceId, name: basename(file), linkType, snapLen } });
    }
    lastSec = secNorm;
    lastNsec = nsec;
    const process = pktap ? pktapProcess(data) : null;
    if (process && !processes.has(process.key)) {
      processes.add(process.key);
      before.push({ sec: secNorm, nsec, event: { kind: 'process', t: 0, key: process.key, pid: process.pid, version: null, ppid: null, parentKey: null, uid: null, path: process.name, argv: null, signingId: null, teamId: null, cdhash: null, isPlatformBinary: null } });
    }
    timed.sec = secNorm;
    timed.nsec = nsec;
    packet.t = 0;
    packet.tExact = undefined;
    packet.direction = directionFromLinkHeader(linkType, data);
    packet.origLen = origLen;
    packet.data = data;
    packet.processKey = process?.key ?? null;
    packetReady = true;
    return null;
  }

  /** Lets the bulk reader take what it can from the window; the record it stopped at is readRecord's. */
  function offer({ reader, records }: { reader: PcapRecordsReader; records: PcapRecords }): void {
    records.buf = cursor.buf;
    records.pos = cursor.pos;
    records.end = cursor.pos + cursor.available;
    const taken = reader(records);
    if (!taken) return;
    cursor.skip(taken.pos - cursor.pos);
    lastSec = taken.lastSec;
    lastNsec = taken.lastNsec;
  }

  const events: Iterator<Timed> = {
    next(): IteratorResult<Timed> {
      for (;;) {
        if (before.length > 0) return { done: false, value: before.shift()! };
        if (packetReady) {
          packetReady = false;
          return result;
        }
        if (ended) return done;
        // After the first record, which announces the interface.
        if (bulk && announced) offer(bulk);
        const last = readRecord();
        if (last) return last;
      }
    },
  };

  const offerRecords = (reader: PcapRecordsReader, [startSec, startNsec]: [number, number]) => {
    bulk = { reader, records: { buf: cursor.buf, pos: 0, end: 0, layout: 'pcap', blockInterface: 0, littleEndian, nanos, linkType, interfaceId, startSec, startNsec, untilT: Infinity } };
  };
  return { file, description, events, notes, offerRecords, close: () => cursor.close() };
}

const EMPTY = new Uint8Array(0);

/**
 * The process of a PKTAP packet (`tcpdump -i pktap` on macOS): pth_pid and pth_comm, else the
 * effective process pth_epid/pth_ecomm (a daemon sending for an app), keyed as pcapng's
 * process blocks are (`pid~name`). Little-endian, as macOS writes it; null when absent.
 */
function pktapProcess(data: Buffer): { key: string; pid: number; name: string } | null {
  if (data.length < 108 || data.readUInt32LE(0) < 108 || data.readUInt32LE(0) > data.length) return null;
  const text = (at: number) => data.subarray(at, at + 17).toString('utf8').replace(/\0.*$/s, '');
  for (const [pidAt, nameAt] of [[52, 56], [84, 88]]) {
    const pid = data.readInt32LE(pidAt);
    const name = text(nameAt);
    if (pid > 0 && name) return { key: `${pid}~${name}`, pid, name };
  }
  return null;
}
