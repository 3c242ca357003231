/**
 * Connection tracking with the native tracker (analyzer/native/conn-tracker.ts): the runs of
 * packets between those that need more than counting are tracked in C in one call each; this
 * side handles the rest as track.ts does — tunnels (their outer datagrams, tracked through a
 * one-row scratch batch), reassembled fragments, DNS messages, what payloads said, FTP's
 * announced connections — keyed by the flow number C wrote, and writes the flows C retires.
 */
import type { TunnelLayer } from '../dissect/tunnels.js';
import { ExpectedConnections } from '../flows/expected-connections.js';
import { FlowContent } from '../flows/flow-content.js';
import { MAX_OPEN_CONNECTIONS } from '../flows/tracker.js';
import { FlowUids } from '../flows/uids.js';
import { nullColumn, ParquetParts, repeatedText } from '../db/parquet-rows.js';
import { tableColumns } from '../db/table-columns.js';
import { Hit, nativeTracker, trackColumnsInOrder, type NativeConnTracker, type PacketRoles } from '../native/conn-tracker.js';
import { addressText, contentColumns } from './flow-rows.js';
import { BATCH_SIZE, newRows, newTrack, type PacketBatch, type RowColumns, type TrackColumns } from './packet-batch.js';
import type { BatchTracker } from './track.js';

/**
 * Flows per row group of the flows table's parts: the retired flows wait in C until this many
 * are ready (a few MB), so that DuckDB reads groups of a useful size.
 */
const FLOW_GROUP_ROWS = 16_384;

/** The tracker's slots: the batch's rows, and one row this side fills. */
const BATCH = 0;
const SCRATCH = 1;

export class NativePacketTracker implements BatchTracker {
  private readonly native: NativeConnTracker;
  private readonly hit = new Int32Array(Hit.length);
  private readonly uids: FlowUids;
  private readonly expected = new ExpectedConnections();
  /** What content said of open flows, by flow number: only flows it said something of. */
  private readonly content = new Map<number, FlowContent>();
  private readonly scratch = { rows: newRows(1), track: newTrack(1), roles: newRoles(1) };
  private roles = newRoles(BATCH_SIZE);
  /** How many of the batch's DNS messages and content sightings have been seen to. */
  private said = { dns: 0, content: 0 };
  /** The batch's DNS messages that came on a flow, and the uid of each one's flow. */
  private dnsOnFlows: { messages: number[]; uids: string[] } = { messages: [], uids: [] };
  private readonly flows: ParquetParts;
  private readonly dns: ParquetParts;
  /** The flows table's columns, by name (schema.sql): C fills all but the session and the content columns. */
  private readonly flowColumns = tableColumns('flows').map((c) => c.name);

  /** As track.ts's PacketTracker; throws where the native tracker was not built. */
  constructor(
    private readonly sessionId: string,
    stagingDir: string,
    onPart: (table: string, path: string) => void,
    maxOpen = MAX_OPEN_CONNECTIONS,
  ) {
    if (!nativeTracker) throw new Error('the native connection tracker was not built');
    this.uids = new FlowUids(sessionId);
    this.native = new nativeTracker.ConnTracker(this.hit, this.uids.seed, maxOpen);
    this.native.columns(SCRATCH, trackColumnsInOrder(this.scratch.rows, this.scratch.track, this.scratch.roles));
    this.flows = new ParquetParts(stagingDir, 'flows', tableColumns('flows'), onPart);
    this.dns = new ParquetParts(stagingDir, 'dns', tableColumns('dns'), onPart);
  }

  batch(batch: PacketBatch): void {
    const { count, tunnels, content } = batch;
    if (this.roles.isOrig.length < batch.rows.flow_no.length) this.roles = newRoles(batch.rows.flow_no.length);
    this.native.columns(BATCH, trackColumnsInOrder(batch.rows, batch.track, this.roles));
    this.said = { dns: 0, content: 0 };
    // Packets tracked here one by one: those that came through tunnels, and the FTP commands that
    // announce a connection (after which every packet is, until none is awaited).
    const announcing = content.filter((seen) => seen.expect).map((seen) => seen.packet);
    let tunnel = 0;
    let announce = 0;
    for (let i = 0; i < count; i++) {
      let next = this.expected.size ? i : count;
      if (tunnel < tunnels.length) next = Math.min(next, tunnels[tunnel].packet);
      if (announce < announcing.length) next = Math.min(next, announcing[announce]);
      this.trackRun(batch, i, next);
      this.noteContent(batch, next);
      if (next === count) break;
      i = next;
      let parent: string | null = null;
      for (; tunnel < tunnels.length && tunnels[tunnel].packet === i; tunnel++) parent = this.tunnels(batch, i, tunnels[tunnel].layers);
      for (; announce < announcing.length && announcing[announce] === i; announce++);
      this.trackRun(batch, i, i + 1);
      const no = this.hit[Hit.flowNo];
      if (no >= 0 && parent !== null) this.contentOf(no).addTunnelParent(parent);
      if (no >= 0 && this.hit[Hit.isNew] && this.expected.size && this.expected.take(this.respText(), this.hit[Hit.respPort], batch.track.tf[i])) {
        this.contentOf(no).addService('ftp-data');
      }
      this.noteContent(batch, i + 1);
    }
    this.writeDns(batch);
    this.writeFinished();
  }

  /**
   * What the batch's DNS messages and payloads said, for the packets before `end` not yet seen, in
   * packet order (a packet's DNS messages before its other content, as track.ts has it).
   */
  private noteContent(batch: PacketBatch, end: number): void {
    const said = this.said;
    const dnsPackets = batch.dns.packet;
    const { content } = batch;
    const flowNo = batch.rows.flow_no;
    while (true) {
      const dnsAt = said.dns < dnsPackets.length ? dnsPackets[said.dns] : end;
      const contentAt = said.content < content.length ? content[said.content].packet : end;
      const at = Math.min(dnsAt, contentAt);
      if (at >= end) return;
      const no = flowNo[at];
      if (dnsAt === at) {
        if (no >= 0) {
          this.contentOf(no).addService('dns');
          this.dnsOnFlows.messages.push(said.dns);
          this.dnsOnFlows.uids.push(this.uids.uid(no));
        }
        said.dns++;
        continue;
      }
      const seen = content[said.content++];
      if (no < 0) continue;
      this.contentOf(no).note(seen, this.roles.isOrig[at] === 1, this.roles.respPort[at]);
      if (seen.expect) this.expected.announce(seen.expect.addr ?? this.srcText(batch, at), seen.expect.port, batch.track.tf[at]);
    }
  }

  get evicted(): number {
    return this.native.evicted();
  }

  finish(): number {
    // A group at a time: the retired records of every connection still open (2,000,000 in a fast
    // scan) never sit in C's memory at once.
    while (this.native.finishOldest(FLOW_GROUP_ROWS) > 0) this.writeFinished(true);
    this.flows.close();
    this.dns.close();
    return this.flows.rows;
  }

  /** Tracks the batch's rows [from, to) in C, and each fragment that completes a datagram as that datagram; returns `to`. */
  private trackRun(batch: PacketBatch, from: number, to: number): number {
    let i = from;
    while (i < to) {
      i = this.native.track(BATCH, i, to);
      if (i < to) this.trackDatagram(batch, i++);
    }
    return to;
  }

  /** A fragment is tracked as its whole datagram (fragments.ts), at the fragment that completed it. */
  private trackDatagram(batch: PacketBatch, i: number): void {
    const { rows: r, track: k } = batch;
    const { rows: sr, track: sk } = this.scratch;
    for (const name of Object.keys(sr) as (keyof RowColumns)[]) sr[name][0] = r[name][i];
    for (const name of Object.keys(sk) as (keyof TrackColumns)[]) sk[name][0] = k[name][i];
    const whole = batch.datagrams[k.datagram[i]];
    sr.src_port[0] = whole.srcPort;
    sr.dst_port[0] = whole.dstPort;
    sk.icmpType[0] = whole.icmpType;
    sk.icmpCode[0] = whole.icmpCode;
    sr.tcp_flags[0] = whole.tcpFlags;
    sr.seq[0] = whole.seq;
    sr.ack[0] = whole.ack;
    sk.window[0] = whole.window;
    sr.ip_len[0] = whole.ipTotalLen;
    sk.l4Len[0] = whole.l4Len;
    sr.payload_len[0] = whole.payloadLen;
    sk.udpLength[0] = whole.udpLength;
    sk.appHead[0] = whole.appHead;
    sk.fragOffset[0] = 0;
    sk.broken[0] = 0;
    sk.fragment[0] = 0;
    sk.datagram[0] = -1;
    this.native.track(SCRATCH, 0, 1);
    r.flow_no[i] = sr.flow_no[0];
    r.from_first_sender[i] = sr.from_first_sender[0];
    this.roles.isOrig[i] = this.scratch.roles.isOrig[0];
    this.roles.respPort[i] = this.scratch.roles.respPort[0];
  }

  /**
   * A packet's tunnels, outermost first (track.ts tunnels): the UDP datagram carrying one is a
   * connection of its own; an IP tunnel is named by its uid. Returns the innermost tunnel's uid.
   */
  private tunnels(batch: PacketBatch, i: number, layers: TunnelLayer[]): string | null {
    let parent: string | null = null;
    for (const layer of layers) {
      if (!layer.udp) {
        parent = this.uids.tunnelUid(layer.type, layer.src, layer.dst);
        continue;
      }
      const { rows: sr, track: sk } = this.scratch;
      const udp = layer.udp;
      sk.tf[0] = batch.track.tf[i];
      sr.t[0] = batch.rows.t[i];
      sr.ip_version[0] = layer.ipVersion;
      sr.protocol[0] = 17;
      addressWords(udp.srcId, sk.src0, sk.src1, sk.src2, sk.src3);
      addressWords(udp.dstId, sk.dst0, sk.dst1, sk.dst2, sk.dst3);
      sr.src_port[0] = udp.srcPort;
      sr.dst_port[0] = udp.dstPort;
      sr.tcp_flags[0] = sr.seq[0] = sr.ack[0] = sk.window[0] = 0;
      sk.fragOffset[0] = sk.broken[0] = sk.badChecksum[0] = sk.fragment[0] = 0;
      sk.icmpType[0] = sk.icmpCode[0] = sk.datagram[0] = -1;
      sr.ip_len[0] = udp.ipTotalLen;
      sk.l4Len[0] = udp.l4Len;
      sr.payload_len[0] = udp.payloadLen;
      sk.udpLength[0] = udp.udpLength;
      sk.appHead[0] = udp.appHead;
      sk.macSrc[0] = udp.macSrc;
      sk.macDst[0] = udp.macDst;
      this.native.track(SCRATCH, 0, 1);
      const no = this.hit[Hit.flowNo];
      if (no < 0) continue;
      const content = this.contentOf(no);
      if (parent !== null) content.addTunnelParent(parent);
      // Zeek names the datagram connection after the tunnel analyzer that opened it; Teredo only
      // once both directions have carried it (Tunnel::delay_teredo_confirmation, on by default).
      if (layer.type === 'TEREDO') content.addEvidence('teredo', this.hit[Hit.isOrig] ? 1 : 2);
      else content.addService(layer.type.toLowerCase());
      parent = this.uids.uid(no);
    }
    return parent;
  }

  /**
   * The dns table's rows of the batch's messages that came on a flow: the session, each message's
   * time, its flow, then the rest of the message (packet-batch.ts DnsInBatch), column by column.
   */
  private writeDns(batch: PacketBatch): void {
    const { messages, uids } = this.dnsOnFlows;
    const count = messages.length;
    if (count === 0) return;
    const { columns } = batch.dns;
    // Nearly always every message came on a flow, and the columns go as they are.
    const pick = (column: unknown[]) => (count === column.length ? column : messages.map((m) => column[m]));
    this.dns.rowsFromColumns([new Array(count).fill(this.sessionId), pick(columns[0]), uids, ...columns.slice(1).map(pick)], count);
    this.dnsOnFlows = { messages: [], uids: [] };
  }

  private contentOf(no: number): FlowContent {
    let content = this.content.get(no);
    if (!content) this.content.set(no, (content = new FlowContent()));
    return content;
  }

  private respText(): string {
    const h = this.hit;
    return addressText(h[Hit.ipVersion], h[Hit.respAddr], h[Hit.respAddr + 1], h[Hit.respAddr + 2], h[Hit.respAddr + 3]);
  }

  private srcText(batch: PacketBatch, i: number): string {
    const k = batch.track;
    return addressText(batch.rows.ip_version[i], k.src0[i], k.src1[i], k.src2[i], k.src3[i]);
  }

  /**
   * Writes the flows C retired, in the order it retired them, as row groups of FLOW_GROUP_ROWS:
   * only whole groups while packets still come, every flow at the end.
   */
  private writeFinished(all = false): void {
    while (this.hit[Hit.finished] >= (all ? 1 : FLOW_GROUP_ROWS)) {
      const { count, flowNo, columns } = this.native.drain(FLOW_GROUP_ROWS);
      const contents = Array.from(flowNo, (no) => this.content.get(no));
      const saidAny = contents.some((c) => c !== undefined);
      this.flows.plainRows(
        this.flowColumns.map((column) => {
          if (column === 'session_id') return repeatedText(this.sessionId, count);
          if (column in contentColumns) {
            const said = contentColumns[column as keyof typeof contentColumns];
            return saidAny ? contents.map((c) => (c ? said(c) : null)) : nullColumn(count);
          }
          const plain = columns[column];
          if (!plain) throw new Error(`the native tracker gave no ${column} column`);
          return plain;
        }),
        count,
      );
      for (const no of flowNo) this.content.delete(no);
    }
  }
}

const newRoles = (size: number): PacketRoles => ({ isOrig: new Uint8Array(size), respPort: new Int32Array(size) });

/** An address id (IPv4 as a number, IPv6 as 32 hex digits) into a scratch row's four words. */
function addressWords(id: number | string, ...words: Uint32Array[]): void {
  for (let w = 0; w < 4; w++) words[w][0] = typeof id === 'number' ? (w === 0 ? id >>> 0 : 0) : parseInt(id.slice(8 * w, 8 * w + 8), 16);
}
