/**
 * Loads one session into the analysis database: events are read chunk by chunk and streamed
 * into the tables; packets are dissected and fed to the connection tracker; connections are
 * written as soon as Zeek's rules retire them. Memory holds the open connections and the
 * process table, never the packets.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../../recorder/errors.js';
import { FlowOrigin, type SessionEvent } from '../../recorder/session/events.js';
import { SessionReader } from '../../recorder/session/reader.js';
import { RowAppender } from '../db/appender.js';
import { query, type Database } from '../db/database.js';
import { parseDns } from '../dns/message.js';
import { TcpFlag, dissect, newDissected, type Dissected } from '../dissect/packet.js';
import { communityId } from '../flows/community-id.js';
import type { Conn } from '../flows/conn.js';
import { ConnTracker } from '../flows/tracker.js';
import { projectFile } from '../project.js';
import { ProcessModel } from './processes.js';

export interface LoadOptions {
  salvage?: boolean;
  /** Called now and then with bytes of the session file read so far. */
  onProgress?: (bytesRead: number, bytesTotal: number) => void;
}

export interface StageTimes {
  read: number;
  dissectAndTrack: number;
  append: number;
  finish: number;
}

export interface LoadResult {
  sessionId: string;
  file: string;
  events: number;
  packets: number;
  flows: number;
  problems: string[];
  truncatedAt: number | null;
  stoppedAt: number | null;
}

const directionName = ['unknown', 'in', 'out'];
const originName: Record<number, string> = Object.fromEntries(Object.entries(FlowOrigin).map(([k, v]) => [v, k === 'contentFilter' ? 'content-filter' : k]));
const FLAG_LETTERS = 'FSRPAUEC';
const flagText: string[] = Array.from({ length: 256 }, (_, f) => [...FLAG_LETTERS].filter((_, i) => f & (1 << i)).join(''));
const DNS_PORTS = new Set([53, 5353, 5355]);

export async function loadSession(db: Database, path: string, options: LoadOptions = {}): Promise<LoadResult> {
  const reader = SessionReader.open(path, { salvage: options.salvage });
  const { header } = reader;
  const sessionId = header.sessionId;
  const seen = await query(db, 'SELECT file FROM sessions WHERE session_id = $1', [sessionId]);
  if (seen.length > 0) throw new InputError(`${path}: session ${sessionId} is already in this database (loaded from ${seen[0].file})`);

  const c = db.connection;
  const tables = ['packets', 'flows', 'socket_events', 'losses', 'interfaces', 'dns'] as const;
  const out = Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await RowAppender.create(c, t)]))) as Record<(typeof tables)[number], RowAppender>;

  const linkTypes = new Map<number, number>();
  const model = new ProcessModel();
  const d = newDissected();
  let packetNo = 0;
  let malformed = 0;
  let flows = 0;

  const tracker = new ConnTracker(sessionId, (conn) => {
    flows++;
    out.flows.row(flowRow(sessionId, conn));
  });

  const onPacket = (e: Extract<SessionEvent, { kind: 'packet' }>) => {
    const linkType = linkTypes.get(e.interfaceId);
    if (linkType === undefined) dissectUnknown(d, e.data, e.interfaceId);
    else dissect(d, linkType, e.data);
    if (d.problem) malformed++;
    const hit = tracker.packet(d, e.t);
    let src: string | null = null;
    let dst: string | null = null;
    let isOrig: boolean | null = null;
    if (hit) {
      isOrig = hit.isOrig;
      src = hit.src;
      dst = hit.dst;
      if (hit.conn.protocol !== 6 || d.payloadLen > 0) dnsRow(hit.conn, d, e.t, src, dst);
    }
    out.packets.row([
      sessionId, packetNo++, e.t, e.interfaceId, directionName[e.direction], e.origLen, e.data.length,
      d.ipVersion || null, src, dst, d.protocol >= 0 ? d.protocol : null,
      d.ipVersion && d.fragOffset === 0 ? (d.icmpType >= 0 ? d.icmpType : d.srcPort) : null,
      d.ipVersion && d.fragOffset === 0 ? (d.icmpType >= 0 ? d.icmpCode : d.dstPort) : null,
      d.protocol === 6 ? flagText[d.tcpFlags] : null, d.protocol === 6 ? d.seq : null, d.protocol === 6 && d.tcpFlags & TcpFlag.ACK ? d.ack : null,
      d.ipVersion ? d.ipTotalLen : null, d.ipVersion ? d.payloadLen : null,
      hit?.conn.uid ?? null, isOrig, e.processKey ? model.instanceOf(e.processKey) : null, d.problem,
    ]);
  };

  const dnsRow = (conn: Conn, pd: Dissected, t: number, src: string, dst: string) => {
    if (!DNS_PORTS.has(conn.ends.respPort) && !DNS_PORTS.has(conn.ends.origPort)) return;
    let start = pd.payloadOffset;
    const end = Math.min(pd.data.length, pd.payloadOffset + pd.payloadLen);
    if (conn.protocol === 6) start += 2; // DNS over TCP: a 2-byte length, then the message
    const message = parseDns(pd.data, start, end);
    if (!message) return;
    out.dns.row([
      sessionId, t, conn.uid, message.id, message.isResponse ? dst : src, message.isResponse ? src : dst, message.isResponse,
      message.query, message.qtype, message.isResponse ? message.rcode : null, message.answers, message.ttls,
    ]);
  };

  let events = 0;
  for (const chunk of reader.chunks()) {
    for (const e of chunk) {
      events++;
      switch (e.kind) {
        case 'packet':
          onPacket(e);
          break;
        case 'interface':
          linkTypes.set(e.id, e.linkType);
          out.interfaces.row([sessionId, e.id, e.name, e.linkType, e.snapLen]);
          break;
        case 'process':
          model.process(e, header.sensor.name === 'netprov-import' && e.key.includes('~'));
          break;
        case 'exec':
          model.exec(e);
          break;
        case 'fork':
          model.fork(e);
          break;
        case 'exit':
          model.exit(e);
          break;
        case 'flowOpen':
        case 'flowClose': {
          const open = e.kind === 'flowOpen';
          out.socket_events.row([
            sessionId, e.t, open ? 'open' : 'close', e.flowId, e.processKey ? model.instanceOf(e.processKey) : null, e.protocol,
            e.localAddr, e.localPort, e.remoteAddr, e.remotePort, open ? directionName[e.direction] : null, open ? originName[e.origin] : null,
            open ? e.remoteHost : null, open ? null : e.bytesIn, open ? null : e.bytesOut,
          ]);
          break;
        }
        case 'loss':
          out.losses.row([sessionId, e.t, e.source, e.count, e.reason]);
          break;
        case 'clockSync':
        case 'mark':
          break;
      }
    }
    options.onProgress?.(reader.report.bytesRead, reader.report.bytes);
  }
  tracker.finishAll();
  for (const a of Object.values(out)) a.close();

  await writeProcesses(db, sessionId, model);
  const report = reader.report;
  const sessionRow = await RowAppender.create(c, 'sessions');
  sessionRow.row([
    sessionId, path, header.host, `${header.sensor.name} ${header.sensor.version}`.trim(), header.startNs, header.clockNotes, report.bytes,
    report.events, report.chunksGood, report.chunksBad, report.trailer !== null, report.truncatedAt,
    report.problems.map((p) => `${p.offset}: ${p.message}`), malformed,
  ]);
  sessionRow.close();
  await c.run(readFileSync(projectFile('analyzer/attribution.sql'), 'utf8'), { session: sessionId, skew_ns: ATTRIBUTION_SKEW_NS });

  return {
    sessionId, file: path, events, packets: packetNo, flows,
    problems: report.problems.map((p) => `${path}: offset ${p.offset}: ${p.message}`),
    truncatedAt: report.truncatedAt, stoppedAt: report.stoppedAt,
  };
}

/** A socket event and the first packet of its flow may disagree by this much (clock conversion, queueing). */
export const ATTRIBUTION_SKEW_NS = 2_000_000_000;

function dissectUnknown(d: Dissected, data: Uint8Array, interfaceId: number): void {
  dissect(d, -1, data);
  d.problem = `packet names interface ${interfaceId}, which the session never declared`;
}

function flowRow(sessionId: string, conn: Conn): unknown[] {
  const s = conn.summary();
  const hasDuration = s.durationNs > 0;
  const { origAddr, origPort, respAddr, respPort } = conn.ends;
  return [
    sessionId, conn.uid, conn.startT, conn.lastT, origAddr, origPort, respAddr, respPort, conn.protoName,
    hasDuration ? s.durationNs / 1e9 : null, hasDuration ? s.origBytes : null, hasDuration ? s.respBytes : null,
    s.connState, conn.missedBytes, conn.history || null, conn.origPkts, conn.origIpBytes, conn.respPkts, conn.respIpBytes,
    conn.protocol, communityId(conn.protocol, origAddr, respAddr, origPort, respPort),
  ];
}

async function writeProcesses(db: Database, sessionId: string, model: ProcessModel): Promise<void> {
  const processes = await RowAppender.create(db.connection, 'processes');
  const images = await RowAppender.create(db.connection, 'process_images');
  const keys = await RowAppender.create(db.connection, 'process_keys');
  for (const p of model.processes.values()) {
    const last = p.images.at(-1);
    processes.row([
      sessionId, p.key, p.pid, p.version, p.ppid, p.parentKey, p.uid, last?.path ?? null, last?.argv ?? null, last?.signingId ?? null,
      last?.teamId ?? null, last?.cdhash ?? null, last?.isPlatformBinary ?? null, p.origin, p.firstSeenT, p.execT, p.exitT, p.exitStatus,
    ]);
    p.images.forEach((image, i) =>
      images.row([sessionId, p.key, i, image.t, image.path, image.argv, image.signingId, image.teamId, image.cdhash, image.isPlatformBinary]),
    );
  }
  for (const [key, instance] of model.aliases) keys.row([sessionId, key, instance]);
  processes.close();
  images.close();
  keys.close();
}
