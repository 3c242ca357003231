/**
 * Loads one session into the analysis database, on two threads: a worker reads, checks, decodes
 * and dissects (decode.ts); this thread tracks connections and processes, in event order, and
 * streams rows into DuckDB. Packets are copied into packet_rows as numbers (db/column-stage.ts);
 * the packets view adds their text. Memory holds the open connections, the process table and
 * a few batches in flight, never the session.
 */
import { readFileSync } from 'node:fs';
import { MessageChannel, Worker } from 'node:worker_threads';
import { InputError } from '../../recorder/errors.js';
import { FlowOrigin, type SessionEvent, type SessionHeader } from '../../recorder/session/events.js';
import type { ReadReport } from '../../recorder/session/reader.js';
import { RowAppender } from '../db/appender.js';
import { BulkAppender } from '../db/column-stage.js';
import { CsvStage } from '../db/csv-stage.js';
import { query, type Database } from '../db/database.js';
import { formatAddress } from '../dissect/packet.js';
import { communityId } from '../flows/community-id.js';
import type { AddressId, Conn } from '../flows/conn.js';
import { ConnTracker, isPorted, type TrackedPacket } from '../flows/tracker.js';
import { projectFile } from '../../recorder/project.js';
import type { DecodeMessage } from './decode.js';
import { ROW_COLUMNS, transferList, type PacketBatch, type TrackColumns } from './packet-batch.js';
import { ProcessModel } from './processes.js';

export interface LoadOptions {
  salvage?: boolean;
  /** Called now and then with bytes of the session file read so far. */
  onProgress?: (bytesRead: number, bytesTotal: number) => void;
}

/** Seconds spent in each stage of a load, for the benchmark. */
export interface StageTimes {
  /** On the worker thread, overlapping the rest: reading, checking, decoding, dissecting. */
  decodeWorker: number;
  /** This thread: tracking connections and processes, staging rows. */
  track: number;
  /** Of `track`: copying staged packet rows into DuckDB. */
  stageToDuckDb: number;
  /** Flows still open, processes, attribution: the work after the last event. */
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
  seconds: StageTimes;
}

/** A socket event and the first packet of its flow may disagree by this much (clock conversion, queueing). */
export const ATTRIBUTION_SKEW_NS = 2_000_000_000;

const directionName = ['unknown', 'in', 'out'];
const originName: Record<number, string> = Object.fromEntries(
  Object.entries(FlowOrigin).map(([k, v]) => [v, k === 'contentFilter' ? 'content-filter' : k]),
);

export async function loadSession(db: Database, path: string, options: LoadOptions = {}): Promise<LoadResult> {
  const started = performance.now();
  const messages = decodeInWorker(path, options.salvage ?? false);
  const first = await messages.next();
  const header = (first.value as Extract<DecodeMessage, { type: 'header' }>).header;
  const sessionId = header.sessionId;
  const seen = await query(db, 'SELECT file FROM sessions WHERE session_id = $1', [sessionId]);
  if (seen.length > 0) {
    await messages.return(undefined);
    throw new InputError(`${path}: session ${sessionId} is already in this database (loaded from ${seen[0].file})`);
  }
  const session = await SessionLoad.start(db, header);
  const seconds: StageTimes = { decodeWorker: 0, track: 0, stageToDuckDb: 0, finish: 0 };
  let report: ReadReport | null = null;
  for await (const message of messages) {
    if (message.type === 'batch') {
      const start = performance.now();
      session.batch(message.batch);
      seconds.track += (performance.now() - start) / 1000;
      options.onProgress?.(message.batch.bytesRead, message.batch.bytesTotal);
    } else if (message.type === 'end') {
      report = message.report;
      options.onProgress?.(report.bytesRead, report.bytes);
    }
  }
  const finishStart = performance.now();
  const result = await session.finish(path, report!);
  seconds.finish = (performance.now() - finishStart) / 1000;
  seconds.stageToDuckDb = session.stageSeconds;
  seconds.decodeWorker = (finishStart - started) / 1000;
  return { ...result, seconds };
}

/** Runs decode.ts on a worker thread; yields its messages in order. */
async function* decodeInWorker(path: string, salvage: boolean): AsyncGenerator<DecodeMessage> {
  const inFlight = new SharedArrayBuffer(4);
  const pending = new Int32Array(inFlight);
  const recycle = new MessageChannel();
  const worker = new Worker(projectFile('dist/analyzer/load/decode-worker.js'), {
    workerData: { path, salvage, inFlight, recycled: recycle.port2 },
    transferList: [recycle.port2],
  });
  const queue: DecodeMessage[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  let exited = false;
  worker.on('message', (m: DecodeMessage) => {
    queue.push(m);
    wake?.();
  });
  worker.on('error', (err) => {
    failure = err;
    wake?.();
  });
  worker.on('exit', () => {
    exited = true;
    wake?.();
  });
  try {
    for (;;) {
      while (queue.length === 0 && !failure && !exited) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      if (failure) throw failure;
      const message = queue.shift();
      if (!message) return;
      if (message.type === 'error') throw message.input ? new InputError(message.message) : Object.assign(new Error(message.message), { stack: message.stack });
      yield message;
      if (message.type === 'batch') {
        const { rows, track } = message.batch;
        recycle.port1.postMessage({ rows, track }, transferList({ rows, track }));
        Atomics.sub(pending, 0, 1);
        Atomics.notify(pending, 0);
      }
      if (message.type === 'end') return;
    }
  } finally {
    recycle.port1.close();
    await worker.terminate();
  }
}

/** The order-dependent half of a load: everything that needs the events in sequence. */
class SessionLoad {
  private readonly tracker: ConnTracker;
  private readonly model = new ProcessModel();
  private readonly packet = new BatchPacket();
  private flows = 0;
  private packets = 0;
  private events = 0;
  private malformed = 0;

  private constructor(
    private readonly db: Database,
    private readonly header: SessionHeader,
    private readonly out: Record<'socket_events' | 'losses' | 'interfaces' | 'dns', RowAppender>,
    private readonly flowRows: CsvStage,
    private readonly packetRows: BulkAppender,
    private readonly packetStrings: RowAppender,
    private readonly sessionNo: number,
  ) {
    this.tracker = new ConnTracker(header.sessionId, (conn) => {
      this.flows++;
      flowRows.row(flowRow(header.sessionId, conn));
    });
  }

  static async start(db: Database, header: SessionHeader): Promise<SessionLoad> {
    const c = db.connection;
    const names = ['socket_events', 'losses', 'interfaces', 'dns'] as const;
    const appenders = await Promise.all(names.map((name) => RowAppender.create(c, name)));
    const out = Object.fromEntries(names.map((name, i) => [name, appenders[i]])) as SessionLoad['out'];
    const [{ next }] = await query(db, 'SELECT coalesce(max(session_no), 0) + 1 AS next FROM sessions');
    const packetRows = await BulkAppender.open(c, 'packet_rows', Object.values(ROW_COLUMNS));
    return new SessionLoad(db, header, out, await CsvStage.open(db, 'flows'), packetRows, await RowAppender.create(c, 'packet_strings'), next as number);
  }

  get stageSeconds(): number {
    return this.packetRows.seconds;
  }

  batch(batch: PacketBatch): void {
    const { rows, track } = batch;
    let next = 0;
    let dns = 0;
    for (let i = 0; i < batch.count; i++) {
      while (next < batch.events.length && batch.events[next].before === i) this.event(batch.events[next++].event);
      const hit = this.tracker.packet(this.packet.load(batch, i), rows.t[i]);
      rows.flow_no[i] = hit ? hit.conn.no : -1;
      rows.from_first_sender[i] = hit ? (hit.fromFirstSender ? 1 : 0) : 2;
      if (rows.problem_no[i] >= 0) this.malformed++;
      while (dns < batch.dns.length && batch.dns[dns].packet === i) {
        if (hit) this.dnsRow(batch.dns[dns], rows.t[i], hit.conn.uid, hit.src, hit.dst);
        dns++;
      }
    }
    while (next < batch.events.length) this.event(batch.events[next++].event);
    for (const s of batch.newStrings) this.packetStrings.row([this.sessionNo, s.kind, s.no, s.value]);
    rows.session_no.fill(this.sessionNo, 0, batch.count);
    this.packetRows.append(Object.values(rows), batch.count);
    this.packets += batch.count;
    this.events += batch.count;
  }

  private dnsRow(m: PacketBatch['dns'][number], t: number, uid: string, src: string, dst: string): void {
    this.out.dns.row([
      this.header.sessionId, t, uid, m.id, m.isResponse ? dst : src, m.isResponse ? src : dst, m.isResponse, m.query, m.qtype,
      m.isResponse ? m.rcode : null, m.answers, m.ttls,
    ]);
  }

  private event(e: SessionEvent): void {
    const sessionId = this.header.sessionId;
    this.events++;
    switch (e.kind) {
      case 'interface':
        this.out.interfaces.row([sessionId, e.id, e.name, e.linkType, e.snapLen]);
        break;
      case 'process':
        this.model.process(e, e.key.includes('~'));
        break;
      case 'exec':
        this.model.exec(e);
        break;
      case 'fork':
        this.model.fork(e);
        break;
      case 'exit':
        this.model.exit(e);
        break;
      case 'flowOpen':
      case 'flowClose': {
        const open = e.kind === 'flowOpen';
        this.out.socket_events.row([
          sessionId, e.t, open ? 'open' : 'close', e.flowId, e.processKey ? this.model.instanceOf(e.processKey) : null, e.protocol,
          e.localAddr, e.localPort, e.remoteAddr, e.remotePort, open ? directionName[e.direction] : null, open ? originName[e.origin] : null,
          open ? e.remoteHost : null, open ? null : e.bytesIn, open ? null : e.bytesOut,
        ]);
        break;
      }
      case 'loss':
        this.out.losses.row([sessionId, e.t, e.source, e.count, e.reason]);
        break;
      default: // clock sync and marks are kept in the session file; the analysis has no table for them
    }
  }

  async finish(path: string, report: ReadReport): Promise<Omit<LoadResult, 'seconds'>> {
    const sessionId = this.header.sessionId;
    const c = this.db.connection;
    this.tracker.finishAll();
    for (const appender of [...Object.values(this.out), this.packetRows, this.packetStrings]) appender.close();
    await this.flowRows.load();
    await this.writeProcesses();

    const sessionRow = await RowAppender.create(c, 'sessions');
    const h = this.header;
    sessionRow.row([
      sessionId, this.sessionNo, path, h.host, `${h.sensor.name} ${h.sensor.version}`.trim(), h.startNs, h.clockNotes, report.bytes, report.events,
      report.chunksGood, report.chunksBad, report.trailer !== null, report.truncatedAt, report.problems.map((p) => `${p.offset}: ${p.message}`),
      this.malformed,
    ]);
    sessionRow.close();
    await c.run(readFileSync(projectFile('analyzer/attribution.sql'), 'utf8'), { session: sessionId, skew_ns: ATTRIBUTION_SKEW_NS });
    return {
      sessionId, file: path, events: this.events, packets: this.packets, flows: this.flows,
      problems: report.problems.map((p) => `${path}: offset ${p.offset}: ${p.message}`),
      truncatedAt: report.truncatedAt, stoppedAt: report.stoppedAt,
    };
  }

  private async writeProcesses(): Promise<void> {
    const sessionId = this.header.sessionId;
    const c = this.db.connection;
    const [processes, images, keys] = await Promise.all(['processes', 'process_images', 'process_keys'].map((t) => RowAppender.create(c, t)));
    for (const p of this.model.processes.values()) {
      const last = p.images.at(-1);
      processes.row([
        sessionId, p.key, p.pid, p.version, p.ppid, p.parentKey, p.uid, last?.path ?? null, last?.argv ?? null, last?.signingId ?? null,
        last?.teamId ?? null, last?.cdhash ?? null, last?.isPlatformBinary ?? null, p.origin, p.firstSeenT, p.execT, p.exitT, p.exitStatus,
      ]);
      p.images.forEach((image, i) =>
        images.row([sessionId, p.key, i, image.t, image.path, image.argv, image.signingId, image.teamId, image.cdhash, image.isPlatformBinary]),
      );
    }
    for (const [key, instance] of this.model.aliases) keys.row([sessionId, key, instance]);
    for (const a of [processes, images, keys]) a.close();
  }
}

/** One row of a batch, seen through the TrackedPacket interface (one object, reloaded per packet). */
class BatchPacket implements TrackedPacket {
  ipVersion = 0;
  protocol = -1;
  fragOffset = 0;
  broken = false;
  srcId: AddressId = 0;
  dstId: AddressId = 0;
  srcPort = 0;
  dstPort = 0;
  icmpType = -1;
  icmpCode = -1;
  tcpFlags = 0;
  seq = 0;
  ack = 0;
  window = 0;
  ipTotalLen = 0;
  l4Len = 0;
  payloadLen = 0;
  udpLength = 0;
  appHead = -1;
  private k!: TrackColumns;
  private i = 0;

  load(batch: PacketBatch, i: number): this {
    const r = batch.rows;
    const k = batch.track;
    this.k = k;
    this.i = i;
    this.ipVersion = r.ip_version[i];
    this.protocol = r.protocol[i];
    this.fragOffset = k.fragOffset[i];
    this.broken = k.broken[i] === 1;
    if (this.ipVersion === 4) {
      this.srcId = k.src0[i];
      this.dstId = k.dst0[i];
    } else if (this.ipVersion === 6) {
      this.srcId = hex128(k.src0[i], k.src1[i], k.src2[i], k.src3[i]);
      this.dstId = hex128(k.dst0[i], k.dst1[i], k.dst2[i], k.dst3[i]);
    }
    this.srcPort = r.src_port[i];
    this.dstPort = r.dst_port[i];
    this.icmpType = k.icmpType[i];
    this.icmpCode = k.icmpCode[i];
    this.tcpFlags = r.tcp_flags[i];
    this.seq = r.seq[i];
    this.ack = r.ack[i];
    this.window = k.window[i];
    this.ipTotalLen = r.ip_len[i];
    this.l4Len = k.l4Len[i];
    this.payloadLen = r.payload_len[i];
    this.udpLength = k.udpLength[i];
    this.appHead = k.appHead[i];
    if (k.fragment[i] === 1) {
      const whole = k.datagram[i] >= 0 ? batch.datagrams[k.datagram[i]] : null;
      // A fragment is tracked only as its whole datagram, at the fragment that completed it.
      if (whole) Object.assign(this, whole, { fragOffset: 0, broken: false });
      else this.fragOffset = -1;
    }
    return this;
  }

  srcText(): string {
    const { k, i } = this;
    return addressText(this.ipVersion, k.src0[i], k.src1[i], k.src2[i], k.src3[i]);
  }

  dstText(): string {
    const { k, i } = this;
    return addressText(this.ipVersion, k.dst0[i], k.dst1[i], k.dst2[i], k.dst3[i]);
  }
}

const hex128 = (a: number, b: number, c: number, d: number) =>
  a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0') + c.toString(16).padStart(8, '0') + d.toString(16).padStart(8, '0');

function addressText(version: number, a: number, b: number, c: number, d: number): string {
  if (version === 4) return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32BE(a, 0);
  bytes.writeUInt32BE(b, 4);
  bytes.writeUInt32BE(c, 8);
  bytes.writeUInt32BE(d, 12);
  return formatAddress(bytes, 0, 6);
}

function flowRow(sessionId: string, conn: Conn): unknown[] {
  const s = conn.summary();
  const hasDuration = s.durationNs > 0;
  const { origAddr, origPort, respAddr, respPort } = conn.ends;
  return [
    sessionId, conn.uid, conn.no, conn.startT, conn.lastT, origAddr, origPort, respAddr, respPort, conn.protoName,
    hasDuration ? s.durationNs / 1e9 : null, hasDuration ? s.origBytes : null, hasDuration ? s.respBytes : null,
    s.connState, conn.missedBytes, conn.history || null, conn.origPkts, conn.origIpBytes, conn.respPkts, conn.respIpBytes,
    conn.protocol, communityId(conn.protocol, origAddr, respAddr, origPort, respPort),
  ];
}
