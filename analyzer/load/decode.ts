/**
 * The stateless half of loading, run on its own thread (decode-worker.ts): read and check the
 * session file, decode its events, dissect every packet into columns, parse DNS messages.
 * Everything that needs order-dependent state happens after it: connections in track.ts,
 * processes in the loader.
 */
import { InputError } from '../../recorder/errors.js';
import { CaptureStream } from '../../recorder/import/captures.js';
import type { SessionHeader } from '../../recorder/session/events.js';
import type { ReadReport } from '../../recorder/session/reader.js';
import type { EventVisitor } from '../../recorder/session/scan.js';
import type { SessionWriter } from '../../recorder/session/writer.js';
import type { LoadInput } from './inputs.js';
import { ContentReader } from '../content/sniff.js';
import { parseDns } from '../dns/message.js';
import { dissect, macAddress, newDissected } from '../dissect/packet.js';
import { addressText } from './flow-rows.js';
import { isPorted } from '../flows/tracker.js';
import { Reassembler } from './fragments.js';
import { BATCH_SIZE, FIRST_BATCH_SIZE, newDnsInBatch, newRows, newTrack, type PacketBatch, type ReusableColumns } from './packet-batch.js';
import { columnsInOrder, nativeDecoder as addon, type PcapDecoder } from '../native/pcap-decoder.js';
import type { PcapRecords, PcapRecordsTaken } from '../../recorder/import/source.js';

export type DecodeMessage =
  /** `readingSince`: when the input's first bytes had been read (ms since the epoch), for the start-up figure. */
  | { type: 'header'; header: SessionHeader; readingSince: number }
  | { type: 'batch'; batch: PacketBatch }
  /**
   * `warnings`: the capture readers' one-line warnings (a session's problems are in its report);
   * `nativePackets`: how many packets the native decoder took.
   */
  | { type: 'end'; report: ReadReport; warnings: string[]; nativePackets: number }
  | { type: 'error'; input: boolean; message: string; stack?: string };

const DNS_PORTS = new Set([53, 5353, 5355]);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const u32 = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/** A session file or captures, seen alike: a header, a report, events through a visitor. */
interface EventSource {
  readonly header: SessionHeader;
  readonly report: ReadReport;
  readonly warnings: string[];
  scan(visitor: EventVisitor): void;
  close(): void;
}

/**
 * The session format's reader and writer (msgpackr with them) are loaded only to read a session
 * or to write one for --save: a capture's decoding thread reads its first packet ~25 ms sooner.
 */
async function openSource(input: LoadInput, salvage: boolean): Promise<EventSource> {
  if (input.kind === 'session') {
    const { SessionReader } = await import('../../recorder/session/reader.js');
    const reader = SessionReader.open(input.path, { salvage });
    return Object.assign(reader, { warnings: [], close: () => {} });
  }
  const captures = new CaptureStream(input.files);
  const { save } = input;
  if (!save) return captures;
  // --save: the merged session is written as `import` writes it, from the same events.
  let writer: SessionWriter;
  try {
    const [{ SessionWriter }, { FileSink }] = await Promise.all([import('../../recorder/session/writer.js'), import('../../recorder/session/sink.js')]);
    writer = new SessionWriter(new FileSink(save.temporary, save.name), captures.header);
  } catch (err) {
    captures.close();
    throw err;
  }
  return {
    header: captures.header,
    report: captures.report,
    get warnings() {
      return captures.warnings;
    },
    scan(visitor) {
      try {
        captures.scan(visitor, writer);
      } catch (err) {
        writer.abandon();
        throw err;
      }
      writer.close();
    },
    close: () => captures.close(),
  };
}

/** `native`: let the native decoder take the plain packets of pcaps and pcapngs, where it was built (default). */
export interface DecodeOptions {
  salvage: boolean;
  verifyChecksums: boolean;
  native?: boolean;
}

export async function decodeSession(
  input: LoadInput, options: DecodeOptions, reuse: () => ReusableColumns | undefined, emit: (message: DecodeMessage) => void,
): Promise<void> {
  const { salvage } = options;
  let reader: EventSource;
  try {
    reader = await openSource(input, salvage);
  } catch (err) {
    emit({ type: 'error', input: err instanceof InputError, message: (err as Error).message, stack: (err as Error).stack });
    return;
  }
  try {
    decodeFrom(reader, input, options, reuse, emit);
  } finally {
    reader.close();
  }
}

function decodeFrom(
  reader: EventSource, input: LoadInput, { verifyChecksums, native = true }: DecodeOptions, reuse: () => ReusableColumns | undefined, emit: (message: DecodeMessage) => void,
): void {
  const path = input.kind === 'session' ? input.path : input.files.join(' + ');
  emit({ type: 'header', header: reader.header, readingSince: Date.now() });

  const linkTypes = new Map<number, number>();
  const d = newDissected(verifyChecksums);
  const reassembler = new Reassembler();
  const content = new ContentReader();
  // One segment description, refilled per packet (no allocation on the hot path); its key is
  // built only while a ClientHello is being joined.
  const segment = {
    protocol: 0, srcPort: 0, dstPort: 0, seq: 0, index: 0, ipVersion: 0,
    key(): string {
      const k = batch.track;
      const i = this.index;
      return this.ipVersion === 4
        ? `${k.src0[i]}|${this.srcPort}|${k.dst0[i]}|${this.dstPort}`
        : `${k.src0[i]}|${k.src1[i]}|${k.src2[i]}|${k.src3[i]}|${this.srcPort}|${k.dst0[i]}|${k.dst1[i]}|${k.dst2[i]}|${k.dst3[i]}|${this.dstPort}`;
    },
  };
  const freshBatch = (): PacketBatch => {
    const columns = reuse() ?? { rows: newRows(), track: newTrack() };
    return { count: 0, bytesRead: 0, bytesTotal: 0, ...columns, newStrings: [], datagrams: [], tunnels: [], events: [], dns: newDnsInBatch(), content: [] };
  };
  let batch = freshBatch();
  // rows.t is BIGINT: written as two 32-bit halves (little-endian, as every host netprov runs on)
  // so that a packet costs no bigint; only a time past 2^53 ns arrives as one (tExact).
  let tHalves = new Uint32Array(batch.rows.t.buffer);
  let packetNo = 0;
  // Numbered across the whole session: packet_strings rows are written once per string.
  const numbers = { process: new Map<string, number>(), problem: new Map<string, number>() };
  const numberOf = (kind: 'process' | 'problem', value: string) => {
    let n = numbers[kind].get(value);
    if (n === undefined) {
      n = numbers[kind].size;
      numbers[kind].set(value, n);
      batch.newStrings.push({ kind, no: n, value });
    }
    return n;
  };
  // The first batches are small, so that tracking and loading start while the decoder is still
  // cold; then they double to BATCH_SIZE.
  let batchLimit = FIRST_BATCH_SIZE;
  const flush = () => {
    if (batch.count === 0 && batch.events.length === 0 && batch.newStrings.length === 0) return;
    batchLimit = Math.min(BATCH_SIZE, batchLimit * 2);
    batch.bytesRead = reader.report.bytesRead;
    batch.bytesTotal = reader.report.bytes;
    emit({ type: 'batch', batch });
    batch = freshBatch();
    tHalves = new Uint32Array(batch.rows.t.buffer);
    nativeBound = false;
  };

  // The native decoder fills the columns of the plain packets of pcaps and pcapngs; what their
  // payloads say is read here after each run, while the window still holds them.
  /** Made at the first offer. */
  let pcapDecoder: PcapDecoder | undefined;
  const linkTypesRead = new Map<number, boolean>();
  const readsLinkType = (linkType: number) => {
    let reads = linkTypesRead.get(linkType);
    if (reads === undefined) linkTypesRead.set(linkType, (reads = addon!.readsLinkType(linkType)));
    return reads;
  };
  let nativeBound = false;
  const nativeOut = new Float64Array(3);
  const payloadAt = new Int32Array(BATCH_SIZE);
  const payloadEnd = new Int32Array(BATCH_SIZE);
  const taken: PcapRecordsTaken = { pos: 0, packets: 0, lastSec: 0, lastNsec: 0 };
  let nativePackets = 0;
  // A capture whose packets the native decoder declines one after another (tunnels, fragments)
  // would pay a call for each: after the second refusal in a row, the next 1, 2, 4 ... 64
  // records go to the TypeScript decoder without asking (a capture of nothing but declined
  // packets measured 15% slower without this).
  let refusals = 0;
  let unasked = 0;
  const pcapRecords = (records: PcapRecords): PcapRecordsTaken | null => {
    if (unasked > 0) {
      unasked--;
      return null;
    }
    // A pcapng's interfaces can each have their own link type: the offer names its own.
    if (!readsLinkType(records.linkType)) return null;
    pcapDecoder ??= new addon!.PcapDecoder(nativeOut, verifyChecksums);
    pcapDecoder.format(records);
    taken.pos = records.pos;
    taken.packets = 0;
    for (;;) {
      if (!nativeBound) {
        pcapDecoder.columns(columnsInOrder(batch.rows, batch.track, payloadAt, payloadEnd));
        nativeBound = true;
      }
      const first = batch.count;
      const n = pcapDecoder.decode(records.buf, taken.pos, records.end, first, batchLimit - first, packetNo);
      if (n === 0) {
        if (taken.packets === 0 && records.end - records.pos >= 16 && ++refusals >= 2) unasked = Math.min(64, 2 ** (refusals - 2));
        break;
      }
      refusals = 0;
      readPayloads(records.buf, first, first + n);
      taken.pos = nativeOut[0];
      taken.lastSec = nativeOut[1];
      taken.lastNsec = nativeOut[2];
      taken.packets += n;
      nativePackets += n;
      packetNo += n;
      batch.count += n;
      if (batch.count < batchLimit) break;
      flush();
    }
    return taken.packets ? taken : null;
  };
  const readPayloads = (window: Uint8Array, from: number, to: number) => {
    for (let i = from; i < to; i++) {
      if (payloadAt[i] < 0) continue;
      readDns(window, payloadAt[i], payloadEnd[i], i);
      readContent(window, payloadAt[i], payloadEnd[i], i);
    }
  };
  /**
   * The DNS message in the TCP or UDP payload bytes[at, end) of row i, where one of the row's
   * ports is DNS's: a row of the batch's DNS columns (packet-batch.ts DnsInBatch).
   */
  const readDns = (bytes: Uint8Array, at: number, end: number, i: number) => {
    const r = batch.rows;
    if (!DNS_PORTS.has(r.src_port[i]) && !DNS_PORTS.has(r.dst_port[i])) return;
    // DNS over TCP starts with a 2-byte length.
    const m = parseDns(bytes, r.protocol[i] === 6 ? at + 2 : at, end);
    if (!m) return;
    const k = batch.track;
    const src = addressText(r.ip_version[i], k.src0[i], k.src1[i], k.src2[i], k.src3[i]);
    const dst = addressText(r.ip_version[i], k.dst0[i], k.dst1[i], k.dst2[i], k.dst3[i]);
    const [client, server] = m.isResponse ? [dst, src] : [src, dst];
    const t = r.t[i];
    const time = t <= MAX_SAFE && t >= -MAX_SAFE ? Number(t) : t;
    batch.dns.packet.push(i);
    const message = [time, m.id, client, server, m.isResponse, m.query, m.qtype, m.isResponse ? m.rcode : null, JSON.stringify(m.answers), JSON.stringify(m.ttls)];
    for (let c = 0; c < message.length; c++) batch.dns.columns[c].push(message[c]);
  };
  /** What the TCP or UDP payload bytes[at, end) of row i says of its connection, from the row's columns. */
  const readContent = (bytes: Uint8Array, at: number, end: number, i: number) => {
    const r = batch.rows;
    segment.protocol = r.protocol[i];
    segment.srcPort = r.src_port[i];
    segment.dstPort = r.dst_port[i];
    segment.seq = r.seq[i];
    segment.index = i;
    segment.ipVersion = r.ip_version[i];
    const seen = content.payload(bytes, at, end, segment);
    if (seen) batch.content.push({ ...seen, packet: i });
  };

  // The analysis keeps session times in BIGINT columns: ±292 years from the session start. The
  // session format holds more (uint64), so a longer session is refused here, in one line.
  const checkTime = (t: number) => {
    if (t >= 2 ** 63 || t < -(2 ** 63)) throw new InputError(`${path}: an event lies ${Math.round(t / 3.15576e16)} years from the session start; the analysis holds ±292 years (import the inputs as separate sessions)`);
  };
  try {
    reader.scan({
      pcapRecords: native && addon ? pcapRecords : undefined,
      event(e) {
        checkTime(e.t);
        if (e.kind === 'interface') linkTypes.set(e.id, e.linkType);
        batch.events.push({ before: batch.count, event: e });
      },
      packet(t, interfaceId, direction, origLen, b, start, end, processKey, tExact) {
        checkTime(t);
        const linkType = linkTypes.get(interfaceId);
        dissect(d, linkType ?? -1, b, start, end);
        if (linkType === undefined) d.problem = `packet names interface ${interfaceId}, which the session never declared`;
        const r = batch.rows;
        const k = batch.track;
        const i = batch.count;
        const ip = d.ipVersion !== 0;
        const transport = ip && d.fragOffset === 0 && !(d.problem !== null && d.srcPort === 0 && d.icmpType < 0);
        const icmp = d.icmpType >= 0;
        const tcp = transport && d.protocol === 6;
        r.packet_no[i] = packetNo++;
        if (tExact !== undefined) r.t[i] = tExact;
        else {
          const high = Math.floor(t / 4294967296);
          tHalves[2 * i] = t - high * 4294967296;
          tHalves[2 * i + 1] = high;
        }
        k.tf[i] = t;
        r.interface_id[i] = interfaceId;
        r.direction[i] = direction;
        r.orig_len[i] = origLen;
        r.cap_len[i] = end - start;
        r.ip_version[i] = d.ipVersion;
        r.protocol[i] = d.protocol;
        r.src_port[i] = transport && isPorted(d.protocol) ? (icmp ? d.icmpType : d.srcPort) : -1;
        r.dst_port[i] = transport && isPorted(d.protocol) ? (icmp ? d.icmpCode : d.dstPort) : -1;
        r.tcp_flags[i] = tcp ? d.tcpFlags : -1;
        r.seq[i] = tcp ? d.seq : 0;
        r.ack[i] = tcp ? d.ack : 0;
        r.ip_len[i] = ip ? d.ipTotalLen : -1;
        r.payload_len[i] = ip ? d.payloadLen : -1;
        r.process_no[i] = processKey === null ? -1 : numberOf('process', processKey);
        r.problem_no[i] = d.problem === null ? -1 : numberOf('problem', d.problem);
        if (d.ipVersion === 4) {
          // Words 1-3 cleared too: the fragment key below reads them.
          k.src0[i] = u32(b, d.srcAt);
          k.dst0[i] = u32(b, d.dstAt);
          k.src1[i] = k.src2[i] = k.src3[i] = k.dst1[i] = k.dst2[i] = k.dst3[i] = 0;
        } else if (d.ipVersion === 6) {
          k.src0[i] = u32(b, d.srcAt);
          k.src1[i] = u32(b, d.srcAt + 4);
          k.src2[i] = u32(b, d.srcAt + 8);
          k.src3[i] = u32(b, d.srcAt + 12);
          k.dst0[i] = u32(b, d.dstAt);
          k.dst1[i] = u32(b, d.dstAt + 4);
          k.dst2[i] = u32(b, d.dstAt + 8);
          k.dst3[i] = u32(b, d.dstAt + 12);
        }
        k.fragOffset[i] = d.fragOffset;
        k.broken[i] = (ip && !transport && d.fragOffset === 0 && isPorted(d.protocol)) || d.noFlow ? 1 : 0;
        k.badChecksum[i] = d.badChecksum ? 1 : 0;
        k.macSrc[i] = d.macAt < 0 ? -1 : macAddress(b, d.macAt + 6);
        k.macDst[i] = macAddress(b, d.macAt);
        if (d.tunnels.length) batch.tunnels.push({ packet: i, layers: d.tunnels });
        k.icmpType[i] = d.icmpType;
        k.icmpCode[i] = d.icmpCode;
        k.window[i] = d.window;
        k.l4Len[i] = d.l4Len;
        k.udpLength[i] = d.udpLength;
        const at = d.payloadOffset;
        k.appHead[i] = d.payloadLen >= 3 && end >= at + 3 ? (b[at] << 16) | (b[at + 1] << 8) | b[at + 2] : -1;
        const fragment = ip && (d.moreFragments || d.fragOffset > 0);
        k.fragment[i] = fragment ? 1 : 0;
        k.datagram[i] = -1;
        if (fragment) {
          const key = `${d.ipVersion}|${k.src0[i]}|${k.src1[i]}|${k.src2[i]}|${k.src3[i]}|${k.dst0[i]}|${k.dst1[i]}|${k.dst2[i]}|${k.dst3[i]}|${d.protocol}|${d.ipId}`;
          const whole = reassembler.add(d, key, t, k.appHead[i]);
          if (whole) k.datagram[i] = batch.datagrams.push(whole) - 1;
        }
        if ((d.protocol === 17 || d.protocol === 6) && d.payloadLen > 0) readDns(b, at, Math.min(end, at + d.payloadLen), i);
        // The row holds this packet's ports, sequence number and IP version as the segment needs them.
        if (transport && (d.protocol === 6 || d.protocol === 17) && d.payloadLen > 0 && d.fragOffset === 0) readContent(b, at, Math.min(end, at + d.payloadLen), i);
        if (++batch.count >= batchLimit) flush();
      },
    });
  } catch (err) {
    emit({ type: 'error', input: err instanceof InputError, message: (err as Error).message, stack: (err as Error).stack });
    return;
  }
  flush();
  emit({ type: 'end', report: reader.report, warnings: reader.warnings, nativePackets });
}

