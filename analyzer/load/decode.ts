/**
 * The stateless half of loading, run on its own thread (decode-worker.ts): read and check the
 * session file, decode its events, dissect every packet into columns, parse DNS messages.
 * Everything that needs order-dependent state (connections, processes) happens in the loader.
 */
import { InputError } from '../../recorder/errors.js';
import type { SessionHeader } from '../../recorder/session/events.js';
import { SessionReader, type ReadReport } from '../../recorder/session/reader.js';
import { parseDns } from '../dns/message.js';
import { dissect, newDissected } from '../dissect/packet.js';
import { BATCH_SIZE, newColumns, type PacketBatch } from './packet-batch.js';

export type DecodeMessage =
  | { type: 'header'; header: SessionHeader }
  | { type: 'batch'; batch: PacketBatch }
  | { type: 'end'; report: ReadReport }
  | { type: 'error'; input: boolean; message: string; stack?: string };

const DNS_PORTS = new Set([53, 5353, 5355]);

const u32 = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

export function decodeSession(path: string, salvage: boolean, emit: (message: DecodeMessage) => void): void {
  let reader: SessionReader;
  try {
    reader = SessionReader.open(path, { salvage });
  } catch (err) {
    emit({ type: 'error', input: err instanceof InputError, message: (err as Error).message, stack: (err as Error).stack });
    return;
  }
  emit({ type: 'header', header: reader.header });

  const linkTypes = new Map<number, number>();
  const d = newDissected();
  let batch = freshBatch();
  const stringIndex = new Map<string, number>();
  const stringOf = (text: string) => {
    let n = stringIndex.get(text);
    if (n === undefined) {
      n = batch.strings.length;
      batch.strings.push(text);
      stringIndex.set(text, n);
    }
    return n;
  };
  const flush = () => {
    if (batch.count === 0 && batch.events.length === 0) return;
    batch.bytesRead = reader.report.bytesRead;
    batch.bytesTotal = reader.report.bytes;
    emit({ type: 'batch', batch });
    batch = freshBatch();
    stringIndex.clear();
  };

  for (const chunk of reader.chunks()) {
    for (const e of chunk) {
      if (e.kind !== 'packet') {
        if (e.kind === 'interface') linkTypes.set(e.id, e.linkType);
        batch.events.push({ before: batch.count, event: e });
        continue;
      }
      const linkType = linkTypes.get(e.interfaceId);
      dissect(d, linkType ?? -1, e.data);
      if (linkType === undefined) d.problem = `packet names interface ${e.interfaceId}, which the session never declared`;
      const c = batch.columns;
      const i = batch.count;
      const b = d.data;
      c.t[i] = e.t;
      c.interfaceId[i] = e.interfaceId;
      c.direction[i] = e.direction;
      c.origLen[i] = e.origLen;
      c.capLen[i] = b.length;
      c.ipVersion[i] = d.ipVersion;
      c.protocol[i] = d.protocol;
      c.fragOffset[i] = d.fragOffset;
      c.problem[i] = d.problem === null ? -1 : stringOf(d.problem);
      if (d.ipVersion === 4) {
        c.src0[i] = u32(b, d.srcAt);
        c.dst0[i] = u32(b, d.dstAt);
      } else if (d.ipVersion === 6) {
        c.src0[i] = u32(b, d.srcAt);
        c.src1[i] = u32(b, d.srcAt + 4);
        c.src2[i] = u32(b, d.srcAt + 8);
        c.src3[i] = u32(b, d.srcAt + 12);
        c.dst0[i] = u32(b, d.dstAt);
        c.dst1[i] = u32(b, d.dstAt + 4);
        c.dst2[i] = u32(b, d.dstAt + 8);
        c.dst3[i] = u32(b, d.dstAt + 12);
      }
      c.srcPort[i] = d.srcPort;
      c.dstPort[i] = d.dstPort;
      c.icmpType[i] = d.icmpType;
      c.icmpCode[i] = d.icmpCode;
      c.tcpFlags[i] = d.tcpFlags;
      c.seq[i] = d.seq;
      c.ack[i] = d.ack;
      c.window[i] = d.window;
      c.ipTotalLen[i] = d.ipTotalLen;
      c.l4Len[i] = d.l4Len;
      c.payloadLen[i] = d.payloadLen;
      c.udpLength[i] = d.udpLength;
      const at = d.payloadOffset;
      c.appHead[i] = d.payloadLen >= 3 && b.length >= at + 3 ? (b[at] << 16) | (b[at + 1] << 8) | b[at + 2] : -1;
      c.processKey[i] = e.processKey === null ? -1 : stringOf(e.processKey);
      if ((d.protocol === 17 || d.protocol === 6) && d.payloadLen > 0 && (DNS_PORTS.has(d.srcPort) || DNS_PORTS.has(d.dstPort))) {
        // DNS over TCP starts with a 2-byte length.
        const start = d.protocol === 6 ? at + 2 : at;
        const message = parseDns(b, start, Math.min(b.length, at + d.payloadLen));
        if (message) {
          const { records: _, ...sighting } = message;
          batch.dns.push({ ...sighting, packet: i });
        }
      }
      if (++batch.count === BATCH_SIZE) flush();
    }
  }
  flush();
  emit({ type: 'end', report: reader.report });
}

function freshBatch(): PacketBatch {
  return { count: 0, bytesRead: 0, bytesTotal: 0, columns: newColumns(), strings: [], events: [], dns: [] };
}
