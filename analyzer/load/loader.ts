/**
 * Loads one session into the analysis database, as a pipeline of three threads: a worker reads,
 * checks, decodes and dissects (decode.ts); a second tracks connections in packet order
 * (track.ts), writing finished flows and DNS rows as Parquet parts (db/staged-parts.ts); this
 * thread follows processes in event order and streams rows into DuckDB, the one thing only it
 * can do. Packets are written as numbers to a Parquet file that becomes packet_rows
 * (db/packet-store.ts); the packets view adds their text. Memory holds the open connections,
 * the process table and a few batches in flight, never the session.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError, UnfitValue } from '../../recorder/errors.js';
import { FlowOrigin, type SessionEvent, type SessionHeader } from '../../recorder/session/events.js';
import { MAX_OPEN_CONNECTIONS } from '../flows/tracker.js';
import type { ReadReport } from '../../recorder/session/reader.js';
import type { RowAppender } from '../db/appender.js';
import { PacketRowsWriter } from '../db/packet-store.js';
import { StagedParts } from '../db/staged-parts.js';
import { query, type Database } from '../db/database.js';
import type { PacketBatch } from './packet-batch.js';
import { containerOf } from './containers.js';
import { ProcessModel } from './processes.js';
import type { LoadMessage } from './track-worker.js';
import { projectFile } from '../../recorder/project.js';
import { inputName, type LoadInput } from './inputs.js';
import { startLoad, type StartedLoad } from './load-threads.js';

export interface LoadOptions {
  salvage?: boolean;
  /** Drop packets with a bad IPv4 header checksum and mark bad TCP/UDP checksums, as Zeek without -C. */
  verifyChecksums?: boolean;
  /** Called now and then with bytes of the session file read so far. */
  onProgress?: (bytesRead: number, bytesTotal: number) => void;
}

/** Seconds spent in each stage of a load, for the benchmark. */
export interface StageTimes {
  /** Until the decoding worker's last batch, overlapping the rest: reading, checking, decoding, dissecting. */
  decodeWorker: number;
  /** On the tracking worker, overlapping: connection tracking, flow rows. */
  trackWorker: number;
  /** This thread: processes and other events, staging rows. */
  main: number;
  /** Of `main`: writing packet rows (their Parquet file). */
  packetRows: number;
  /** Flows still open, processes, attribution: the work after the last event. */
  finish: number;
  /** From the process's start until the input's first bytes had been read: node, modules, workers (wall clock: a worker's performance.timeOrigin is its own). */
  startup: number;
}

export interface LoadResult {
  sessionId: string;
  file: string;
  events: number;
  packets: number;
  flows: number;
  problems: string[];
  /** Packets netprov could not (fully) dissect, by reason, most first: never a silent "0 flows". */
  undissected: { reason: string; packets: number }[];
  truncatedAt: number | null;
  stoppedAt: number | null;
  /** The first corruption found (a bad frame or chunk, a malformed event), or null: a session cut short is not corrupt. */
  corruption: { offset: number; message: string } | null;
  seconds: StageTimes;
}

/** A socket event and the first packet of its flow may disagree by this much (clock conversion, queueing). */
export const ATTRIBUTION_SKEW_NS = 2_000_000_000;

const directionName = ['unknown', 'in', 'out'];
const originName: Record<number, string> = Object.fromEntries(
  Object.entries(FlowOrigin).map(([k, v]) => [v, k === 'contentFilter' ? 'content-filter' : k]),
);

export async function loadSession(db: Database, input: LoadInput | string | StartedLoad, options: LoadOptions = {}): Promise<LoadResult> {
  const load = typeof input === 'object' && 'messages' in input ? input : startLoad(input, options);
  try {
    return await finishLoad(db, load, options);
  } finally {
    await load.stop();
    load.staged.remove();
  }
}

async function finishLoad(db: Database, { input, messages, stop, started }: StartedLoad, options: LoadOptions): Promise<LoadResult> {
  const path = inputName(input);
  const first = await messages.next();
  const { header, readingSince } = first.value as Extract<LoadMessage, { type: 'header' }>;
  const sessionId = header.sessionId;
  const seen = await query(db, 'SELECT file, captures FROM sessions WHERE session_id = $1', [sessionId]);
  if (seen.length > 0) {
    throw new InputError(`${path}: session ${sessionId} is already in this database (loaded from ${seen[0].file ?? (seen[0].captures as string[]).join(' + ')})`);
  }
  // The loading threads hold memory of their own: DuckDB gets less while they run.
  await db.connection.run(`SET memory_limit = '${db.memory.load}MiB'`);
  const session = await SessionLoad.start(db, header);
  const staging = new StagedParts(db, session.sessionNo);
  try {
    return await loadMessages(db, session, staging, { messages, stop, started, input }, readingSince, options);
  } catch (err) {
    session.abandon();
    throw err instanceof UnfitValue ? new InputError(`${path}: ${err.message}`) : err;
  } finally {
    // Never close a connection while a part is still loading on it.
    await staging.close();
  }
}

async function loadMessages(
  db: Database, session: SessionLoad, staging: StagedParts, { messages, stop, started, input }: Pick<StartedLoad, 'messages' | 'stop' | 'started' | 'input'>,
  readingSince: number, options: LoadOptions,
): Promise<LoadResult> {
  // A worker's clock has its own origin: the time since the epoch crosses over.
  const firstRead = readingSince - (Date.now() - performance.now());
  performance.mark('netprov:first-bytes-read', { startTime: firstRead });
  const seconds: StageTimes = { decodeWorker: 0, trackWorker: 0, main: 0, packetRows: 0, finish: 0, startup: firstRead / 1000 };
  let end: Extract<LoadMessage, { type: 'end' }> | null = null;
  for await (const message of messages) {
    if (message.type === 'batch') {
      const start = performance.now();
      session.batch(message.batch);
      seconds.main += (performance.now() - start) / 1000;
      options.onProgress?.(message.batch.bytesRead, message.batch.bytesTotal);
    } else if (message.type === 'staged') {
      staging.add(message.table, message.path);
    } else if (message.type === 'end') {
      end = message;
      seconds.trackWorker = message.trackSeconds;
      options.onProgress?.(message.report.bytesRead, message.report.bytes);
    }
  }
  const finishStart = performance.now();
  await stop();
  await db.connection.run(`SET memory_limit = '${db.memory.query}MiB'`);
  // The packet rows go in while the last flow and DNS parts do, each on its own connection
  // (with --db: 400,000 packets' 0.13 s and the parts' 0.05 s overlap).
  // Both settle before a failure goes on: the undo that follows it must not race the INSERT.
  const settled = await Promise.allSettled([staging.done(), session.finishRows()]);
  for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
  const result = await session.finish(input, end!.report, end!.warnings, end!.flows, end!.evicted);
  seconds.finish = (performance.now() - finishStart) / 1000;
  seconds.packetRows = session.stageSeconds;
  seconds.decodeWorker = (finishStart - started) / 1000;
  return { ...result, seconds };
}

/** This thread's part of a load: processes and other events in sequence, and every row into DuckDB. */
class SessionLoad {
  private readonly model = new ProcessModel();
  private packets = 0;
  private events = 0;
  private malformed = 0;
  /** Evidence of processes, for attribution: socket events, losses, packets' process names. */
  private evidence = 0;
  /** Packets not (fully) dissected, by reason: problem number -> reason and count. */
  private readonly problemCounts = new Map<number, { reason: string; packets: number }>();

  private constructor(
    private readonly db: Database,
    private readonly header: SessionHeader,
    private readonly out: Record<'socket_events' | 'losses' | 'interfaces', RowAppender>,
    private readonly packetRows: PacketRowsWriter,
    private readonly packetStrings: RowAppender,
    readonly sessionNo: number,
  ) {}

  static async start(db: Database, header: SessionHeader): Promise<SessionLoad> {
    // DuckDB's modules are loaded once the database is open, not at start-up (see database.ts).
    const { RowAppender } = await import('../db/appender.js');
    const c = db.connection;
    const names = ['socket_events', 'losses', 'interfaces'] as const;
    const appenders = await Promise.all(names.map((name) => RowAppender.create(c, name)));
    const out = Object.fromEntries(names.map((name, i) => [name, appenders[i]])) as SessionLoad['out'];
    const [{ next }] = await query(db, 'SELECT coalesce(max(session_no), 0) + 1 AS next FROM sessions');
    const packetRows = new PacketRowsWriter(db.tempFolder, next as number);
    return new SessionLoad(db, header, out, packetRows, await RowAppender.create(c, 'packet_strings'), next as number);
  }

  /**
   * A load that failed: its packet file is left unfinished, and the rows its appenders still hold
   * go in now rather than whenever an appender is collected — after the command has removed the
   * failed load's rows (undo-load.ts) they would be half a session again.
   */
  abandon(): void {
    this.packetRows.abandon();
    for (const appender of this.appenders()) {
      try {
        appender.close();
      } catch {
        // A row it could not take: the load has failed already, and says why.
      }
    }
  }

  private appenders(): RowAppender[] {
    return [...Object.values(this.out), this.packetStrings];
  }

  get stageSeconds(): number {
    return this.packetRows.seconds;
  }

  /** One batch, connections already tracked: its other events in order, then its rows. */
  batch(batch: PacketBatch): void {
    const { rows } = batch;
    for (const { event } of batch.events) this.event(event);
    for (const s of batch.newStrings) {
      this.packetStrings.row([this.sessionNo, s.kind, s.no, s.value]);
      if (s.kind === 'problem') this.problemCounts.set(s.no, { reason: s.value, packets: 0 });
      else this.evidence++;
    }
    for (let i = 0; i < batch.count; i++) {
      const problem = rows.problem_no[i];
      if (problem < 0) continue;
      this.malformed++;
      this.problemCounts.get(problem)!.packets++;
    }
    rows.session_no.fill(this.sessionNo, 0, batch.count);
    this.packetRows.append(rows, batch.count);
    this.packets += batch.count;
    this.events += batch.count;
  }

  private event(e: SessionEvent): void {
    const sessionId = this.header.sessionId;
    this.events++;
    switch (e.kind) {
      case 'interface':
        this.out.interfaces.row([sessionId, e.id, e.name, e.linkType, e.snapLen, e.netns ?? null]);
        break;
      case 'process':
        this.model.process(e, e.key.includes('~') ? 'pcapng' : this.header.sensor.name === 'netprov-import' || e.t > 0 ? 'seen' : 'snapshot');
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
        this.evidence++;
        this.out.socket_events.row([
          sessionId, e.tExact ?? e.t, open ? 'open' : 'close', e.flowId, e.processKey ? this.model.instanceOf(e.processKey) : null, e.protocol,
          e.localAddr, e.localPort, e.remoteAddr, e.remotePort, open ? directionName[e.direction] : null, open ? originName[e.origin] : null,
          open ? e.remoteHost : null, open ? null : e.bytesIn, open ? null : e.bytesOut, open ? (e.netns ?? null) : null,
        ]);
        break;
      }
      case 'loss':
        this.evidence++;
        this.out.losses.row([sessionId, e.tExact ?? e.t, e.source, e.count, e.reason]);
        break;
      default: // clock sync and marks are kept in the session file; the analysis has no table for them
    }
  }

  /** Closes the load's appenders and makes its packet rows part of packet_rows. */
  async finishRows(): Promise<void> {
    for (const appender of this.appenders()) appender.close();
    await this.packetRows.finish(this.db.connection, this.db.inMemory);
  }

  async finish(input: LoadInput, report: ReadReport, warnings: string[], flows: number, evicted: number): Promise<Omit<LoadResult, 'seconds'>> {
    const path = inputName(input);
    // Not a problem of the input: every packet was read. The database keeps it beside the reader's problems.
    const tracking = evicted === 0 ? [] : [
      `tracking: ${evicted} connections were retired before Zeek's timers would have retired them, to keep at most ${MAX_OPEN_CONNECTIONS.toLocaleString('en-US')} open at once (netprov's memory bound); a later packet of any of them starts a new flow`,
    ];
    const sessionId = this.header.sessionId;
    const c = this.db.connection;
    await this.writeProcesses();

    const { RowAppender } = await import('../db/appender.js');
    const sessionRow = await RowAppender.create(c, 'sessions');
    const h = this.header;
    // Absolute: export --pcap re-reads packet bytes from the session file, or from the captures
    // when there is none, from whatever folder it runs in.
    const file = input.kind === 'session' ? resolve(input.path) : input.save ? resolve(input.save.name) : null;
    const captures = input.kind === 'captures' && !input.save ? input.files.map((f) => resolve(f)) : null;
    sessionRow.row([
      sessionId, this.sessionNo, file, captures, h.host, `${h.sensor.name} ${h.sensor.version}`.trim(), h.startNs, h.clockNotes, report.bytes, report.events,
      report.chunksGood, report.chunksBad, report.trailer !== null || (input.kind === 'captures' && warnings.length === 0), report.truncatedAt,
      [...report.problems.map((p) => `${p.offset}: ${p.message}`), ...tracking],
      this.malformed,
    ]);
    sessionRow.close();
    await this.attribute();
    return {
      sessionId, file: path, events: this.events, packets: this.packets, flows,
      problems: [...report.problems.map((p) => `${path}: offset ${p.offset}: ${p.message}`), ...warnings, ...tracking.map((t) => `${path}: ${t}`)],
      undissected: [...this.problemCounts.values()].sort((a, b) => b.packets - a.packets || (a.reason < b.reason ? -1 : 1)),
      truncatedAt: report.truncatedAt, stoppedAt: report.stoppedAt,
      corruption: report.chunksBad > 0 || report.badEvents > 0 ? (report.problems[0] ?? { offset: 0, message: 'corrupt' }) : null,
    };
  }

  /** Which process opened each flow (attribution.sql), and through NAT (attribution-nat.sql). */
  private async attribute(): Promise<void> {
    const session = this.header.sessionId;
    const c = this.db.connection;
    // A session without any evidence gets the one answer the rules would give it, at once. (A live
    // sensor's silence about a flow is evidence too: attribution.sql, `evidence`.)
    if (this.evidence === 0 && !/^netprov-(linux|macos)$/.test(this.header.sensor.name)) {
      await c.run(readFileSync(projectFile('analyzer/attribution-none.sql'), 'utf8'), { session });
      return;
    }
    await c.run(readFileSync(projectFile('analyzer/attribution.sql'), 'utf8'), { session, skew_ns: ATTRIBUTION_SKEW_NS });
    // NAT joins a flow to one a connect opened: with none (a capture without sockets), it would only scan the packets.
    const connects = await query(this.db, `SELECT 1 FROM attributions WHERE session_id = $1 AND socket_origin = 'connect' LIMIT 1`, [session]);
    if (connects.length > 0) await c.run(readFileSync(projectFile('analyzer/attribution-nat.sql'), 'utf8'), { session });
  }

  private async writeProcesses(): Promise<void> {
    const sessionId = this.header.sessionId;
    const c = this.db.connection;
    const { RowAppender } = await import('../db/appender.js');
    const [processes, images, keys] = await Promise.all(['processes', 'process_images', 'process_keys'].map((t) => RowAppender.create(c, t)));
    for (const p of this.model.processes.values()) {
      const last = p.images.at(-1);
      const container = containerOf(p.cgroupPath);
      processes.row([
        sessionId, p.key, p.pid, p.version, p.ppid, p.parentKey, p.uid, last?.path ?? null, last?.argv ?? null, last?.signingId ?? null,
        last?.teamId ?? null, last?.cdhash ?? null, last?.isPlatformBinary ?? null, p.origin, p.firstSeenT, p.execT, p.exitT, p.exitStatus,
        p.cgroupId, p.cgroupPath, container.runtime, container.id, container.podUid, container.systemdUnit,
      ]);
      p.images.forEach((image, i) =>
        images.row([sessionId, p.key, i, image.t, image.path, image.argv, image.signingId, image.teamId, image.cdhash, image.isPlatformBinary]),
      );
    }
    for (const [key, instance] of this.model.aliases) keys.row([sessionId, key, instance]);
    for (const a of [processes, images, keys]) a.close();
  }
}
