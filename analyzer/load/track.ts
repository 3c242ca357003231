/**
 * The connection-tracking half of loading, on a thread of its own (track-worker.ts): every
 * packet of every batch through the ConnTracker, in order; its flow number and direction written
 * into the batch's packet rows; each flow written as a row of a Parquet part as it finishes; DNS
 * messages joined to their flow. Nothing here touches the database. Where the native addon was
 * built, track-native.ts does the same with the connections tracked in C: this file is then the
 * reference it is tested against (test/analyzer/native-tracker.test.ts).
 */
import type { AddressId, Conn } from '../flows/conn.js';
import { ExpectedConnections } from '../flows/expected-connections.js';
import { ConnTracker, MAX_OPEN_CONNECTIONS, type TrackedPacket } from '../flows/tracker.js';
import { FlowUids } from '../flows/uids.js';
import type { OuterDatagram, TunnelLayer } from '../dissect/tunnels.js';
import { ParquetParts } from '../db/parquet-rows.js';
import { tableColumns } from '../db/table-columns.js';
import { communityId } from '../flows/community-id.js';
import { addressText, flowRow, macText, type TrackedFlow } from './flow-rows.js';
import type { PacketBatch, TrackColumns } from './packet-batch.js';

/** What the loader's tracking thread drives: this file's tracker, or track-native.ts's. */
export interface BatchTracker {
  /** Fills the batch's flow_no and from_first_sender; gives flows their services and names; writes DNS rows. */
  batch(batch: PacketBatch): void;
  /** Retires the flows still open and closes the parts; returns how many flows there were. */
  finish(): number;
  /** Connections retired early to keep at most MAX_OPEN_CONNECTIONS open (tracker.ts). */
  readonly evicted: number;
}

export class PacketTracker implements BatchTracker {
  private readonly tracker: ConnTracker;
  private readonly uids: FlowUids;
  private readonly expected = new ExpectedConnections();
  private readonly packet = new BatchPacket();
  private readonly flows: ParquetParts;
  private readonly dns: ParquetParts;

  /** Finished flows and DNS messages become rows of the flows and dns tables, in Parquet parts in `stagingDir`, each handed to `onPart` when done. */
  constructor(
    private readonly sessionId: string,
    stagingDir: string,
    onPart: (table: string, path: string) => void,
    maxOpen = MAX_OPEN_CONNECTIONS,
  ) {
    this.flows = new ParquetParts(stagingDir, 'flows', tableColumns('flows'), onPart);
    this.dns = new ParquetParts(stagingDir, 'dns', tableColumns('dns'), onPart);
    this.uids = new FlowUids(sessionId);
    this.tracker = new ConnTracker(this.uids, (conn) => this.flows.row(flowRow(sessionId, trackedFlow(conn), conn)), maxOpen);
  }

  batch(batch: PacketBatch): void {
    const { rows } = batch;
    let dns = 0;
    let tunnel = 0;
    let content = 0;
    for (let i = 0; i < batch.count; i++) {
      let parent: string | null = null;
      const t = batch.track.tf[i];
      const packet = this.packet.load(batch, i);
      for (; tunnel < batch.tunnels.length && batch.tunnels[tunnel].packet === i; tunnel++) parent = this.tunnels(batch.tunnels[tunnel].layers, t);
      const hit = this.tracker.packet(packet, t, parent);
      if (hit && hit.conn.packets === 1 && this.expected.size) this.expectedConnection(hit.conn, t);
      rows.flow_no[i] = hit ? hit.conn.no : -1;
      rows.from_first_sender[i] = hit ? (hit.fromFirstSender ? 1 : 0) : 2;
      for (; dns < batch.dns.packet.length && batch.dns.packet[dns] === i; dns++) {
        if (!hit) continue;
        hit.conn.addService('dns');
        // The dns table's columns: the session, the message's time, its flow, then the rest of the message.
        const { columns } = batch.dns;
        const row: unknown[] = [this.sessionId, columns[0][dns], hit.conn.uid];
        for (let c = 1; c < columns.length; c++) row.push(columns[c][dns]);
        this.dns.row(row);
      }
      for (; content < batch.content.length && batch.content[content].packet === i; content++) {
        if (!hit) continue;
        const seen = batch.content[content];
        hit.conn.note(seen, hit.isOrig, hit.conn.ends.respPort);
        if (seen.expect) this.expected.announce(seen.expect.addr ?? hit.src, seen.expect.port, t);
      }
    }
  }

  /** A new connection FTP announced within Zeek's five minutes: ftp-data. */
  private expectedConnection(conn: Conn, t: number): void {
    if (this.expected.take(conn.ends.respAddr, conn.ends.respPort, t)) conn.addService('ftp-data');
  }

  /**
   * A packet's tunnels, outermost first: the datagram carrying a tunnel in UDP is a connection
   * of its own (its parent the tunnel around it, if any); an IP tunnel is named by its uid.
   * Returns the uid of the innermost tunnel, the inner packet's parent.
   */
  private tunnels(layers: TunnelLayer[], t: number): string | null {
    let parent: string | null = null;
    for (const layer of layers) {
      if (layer.udp) {
        const outer = this.tracker.packet(outerDatagram(layer, layer.udp, () => this.packet.exactT()), t, parent);
        // Zeek names the datagram connection after the tunnel analyzer that opened it; Teredo only
        // once both directions have carried it (Tunnel::delay_teredo_confirmation, on by default).
        if (outer && layer.type === 'TEREDO') outer.conn.addEvidence('teredo', outer.isOrig ? 1 : 2);
        else outer?.conn.addService(layer.type.toLowerCase());
        parent = outer?.conn.uid ?? parent;
      } else parent = this.uids.tunnelUid(layer.type, layer.src, layer.dst);
    }
    return parent;
  }

  get evicted(): number {
    return this.tracker.evicted;
  }

  finish(): number {
    this.tracker.finishAll();
    this.flows.close();
    this.dns.close();
    return this.flows.rows;
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
  badChecksum = false;
  macSrc = -1;
  macDst = -1;
  private k!: TrackColumns;
  private times!: BigInt64Array;
  private i = 0;

  load(batch: PacketBatch, i: number): this {
    const r = batch.rows;
    const k = batch.track;
    this.k = k;
    this.i = i;
    this.times = r.t;
    this.ipVersion = r.ip_version[i];
    this.protocol = r.protocol[i];
    this.fragOffset = k.fragOffset[i];
    this.broken = k.broken[i] === 1;
    if (this.ipVersion === 4) {
      this.srcId = k.src0[i] | 0;
      this.dstId = k.dst0[i] | 0;
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
    this.badChecksum = k.badChecksum[i] === 1;
    this.macSrc = k.macSrc[i];
    this.macDst = k.macDst[i];
    if (k.fragment[i] === 1) {
      const whole = k.datagram[i] >= 0 ? batch.datagrams[k.datagram[i]] : null;
      // A fragment is tracked only as its whole datagram, at the fragment that completed it.
      if (whole) Object.assign(this, whole, { fragOffset: 0, broken: false });
      else this.fragOffset = -1;
    }
    return this;
  }

  exactT(): bigint {
    return this.times[this.i];
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

/** The UDP datagram that carried a tunnel, as connection tracking reads a packet. */
function outerDatagram(layer: TunnelLayer, udp: OuterDatagram, exactT: () => bigint): TrackedPacket {
  return {
    ...udp, ipVersion: layer.ipVersion, protocol: 17, fragOffset: 0, broken: false, badChecksum: false,
    icmpType: -1, icmpCode: -1, tcpFlags: 0, seq: 0, ack: 0, window: 0, srcText: () => layer.src, dstText: () => layer.dst, exactT,
  };
}

const hex128 = (a: number, b: number, c: number, d: number) =>
  a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0') + c.toString(16).padStart(8, '0') + d.toString(16).padStart(8, '0');

/** What the flows table needs of a connection the TypeScript tracker followed. */
function trackedFlow(conn: Conn): TrackedFlow {
  const s = conn.summary();
  const { origAddr, origPort, respAddr, respPort } = conn.ends;
  const [idOrigPort, idRespPort] = conn.idPorts ?? [origPort, respPort];
  return {
    uid: conn.uid, no: conn.no, start: conn.startExact ?? conn.startT, last: conn.lastExact ?? conn.lastT,
    origAddr, origPort, respAddr, respPort, protocol: conn.protocol, ...s,
    communityId: communityId(conn.protocol, origAddr, respAddr, idOrigPort, idRespPort),
    missedBytes: conn.missedBytes, history: conn.history, origPkts: conn.origPkts, origIpBytes: conn.origIpBytes,
    respPkts: conn.respPkts, respIpBytes: conn.respIpBytes, origL2: macText(conn.origL2), respL2: macText(conn.respL2),
  };
}
