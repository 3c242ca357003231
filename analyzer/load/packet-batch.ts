/**
 * A batch of dissected packets in columns, passed from the decode worker through the tracking
 * worker to the loader without copying (the typed arrays' buffers are transferred). `rows` are packet_rows' columns, ready
 * for DuckDB; `track` holds what only connection tracking reads. Every other event of the
 * session travels beside the packets, tagged with the packet index it came before, so the
 * loader sees all events in file order.
 */
import type { SessionEvent } from '../../recorder/session/events.js';
import type { ContentInBatch } from '../content/sniff.js';
import type { Datagram } from './fragments.js';
import type { TunnelLayer } from '../dissect/tunnels.js';
import { Staged, type StagedKind } from '../db/staged.js';

/**
 * packet_rows, column by column (schema.sql). -1 stands for NULL (ip_version: 0,
 * from_first_sender: 2; seq and ack are meaningful only where tcp_flags says so).
 * flow_no and from_first_sender are the tracker's to fill, session_no the loader's.
 */
export const ROW_COLUMNS = {
  session_no: Staged.i32, packet_no: Staged.i32, t: Staged.i64, interface_id: Staged.i32, direction: Staged.u8, orig_len: Staged.u32,
  cap_len: Staged.i32, ip_version: Staged.u8, protocol: Staged.i16, src_port: Staged.i32, dst_port: Staged.i32, tcp_flags: Staged.i16,
  seq: Staged.u32, ack: Staged.u32, ip_len: Staged.i32, payload_len: Staged.i32, flow_no: Staged.i32, from_first_sender: Staged.u8,
  process_no: Staged.i32, problem_no: Staged.i32,
} satisfies Record<string, StagedKind>;

/** What connection tracking needs beyond the rows. */
export const TRACK_COLUMNS = {
  /**
   * The packet's session time as a double, for connection tracking's timers: exact within 2^53
   * ns (104 days) of the start, within the double's spacing beyond; rows.t holds it exactly.
   */
  tf: Staged.f64,
  /** Addresses: IPv4 in word 0; IPv6 in words 0..3, network order. */
  src0: Staged.u32, src1: Staged.u32, src2: Staged.u32, src3: Staged.u32,
  dst0: Staged.u32, dst1: Staged.u32, dst2: Staged.u32, dst3: Staged.u32,
  fragOffset: Staged.i32,
  /** 1: an IP packet whose transport header could not be read (no ports to key on), or a tunnel's own packet with nothing inside. */
  broken: Staged.u8,
  /** 1: the transport checksum was verified and is wrong (--verify-checksums). */
  badChecksum: Staged.u8,
  icmpType: Staged.i16,
  icmpCode: Staged.i16,
  window: Staged.i32,
  l4Len: Staged.i32,
  udpLength: Staged.i32,
  /** First three transport payload bytes (big-endian in 24 bits), or -1: DNS and NTP role flips read them. */
  appHead: Staged.i32,
  /** The frame's source and destination MACs (48-bit numbers), or -1: Zeek's orig_l2_addr/resp_l2_addr. */
  macSrc: Staged.f64,
  macDst: Staged.f64,
  /** 1: a fragment of a datagram, tracked only as a whole (see fragments.ts). */
  fragment: Staged.u8,
  /** For the fragment that completed its datagram: index into `datagrams`; else -1. */
  datagram: Staged.i32,
} satisfies Record<string, StagedKind>;

type Arrays<T extends Record<string, StagedKind>> = { [K in keyof T]: InstanceType<T[K]['array']> };
export type RowColumns = Arrays<typeof ROW_COLUMNS>;
export type TrackColumns = Arrays<typeof TRACK_COLUMNS>;

/**
 * The DNS messages of a batch, parsed in the decoding worker, column by column: `packet`, the
 * packet of the batch each came in; `columns`, the dns table's columns but session_id and
 * flow_uid, in order (t, trans_id, client, server, is_response, query, qtype, rcode, and the
 * lists answers and ttls as their JSON text), which the tracking worker adds to make its rows.
 * Arrays of plain values cross between the threads at a fifth of the cost of an array per
 * message (measured: 25 against 115 ms for 23,000 messages).
 */
export interface DnsInBatch {
  packet: number[];
  columns: unknown[][];
}

export const newDnsInBatch = (): DnsInBatch => ({ packet: [], columns: Array.from({ length: 10 }, () => []) });

export interface PacketBatch {
  count: number;
  /** Bytes of the session file consumed when the batch was sent: for progress bars. */
  bytesRead: number;
  bytesTotal: number;
  rows: RowColumns;
  track: TrackColumns;
  /** Strings numbered for the first time in this batch (process_no, problem_no refer to them). */
  newStrings: { kind: 'process' | 'problem'; no: number; value: string }[];
  /** Datagrams whose last fragment is in this batch, reassembled for tracking. */
  datagrams: Datagram[];
  /** The tunnels packet `packet` came through, outermost first (rows hold its innermost packet). */
  tunnels: { packet: number; layers: TunnelLayer[] }[];
  /** Non-packet events, each placed before packet `before` of this batch. */
  events: { before: number; event: SessionEvent }[];
  dns: DnsInBatch;
  /** What payloads said of their connections' application (service, TLS names, HTTP Host), in packet order. */
  content: ContentInBatch[];
}

export const BATCH_SIZE = 16384;
/** A load's first batch: each next one is twice the last, up to BATCH_SIZE (decode.ts). */
export const FIRST_BATCH_SIZE = 1024;

const allocate = <T extends Record<string, StagedKind>>(spec: T, size: number): Arrays<T> =>
  Object.fromEntries(Object.entries(spec).map(([name, kind]) => [name, new kind.array(size)])) as Arrays<T>;

export const newRows = (size = BATCH_SIZE): RowColumns => allocate(ROW_COLUMNS, size);
export const newTrack = (size = BATCH_SIZE): TrackColumns => allocate(TRACK_COLUMNS, size);

/** Column arrays handed back to the decoder for its next batch. */
export type ReusableColumns = Pick<PacketBatch, 'rows' | 'track'>;

export const transferList = (batch: ReusableColumns): ArrayBuffer[] =>
  [...Object.values(batch.rows), ...Object.values(batch.track)].map((a) => a.buffer as ArrayBuffer);
