/**
 * A batch of dissected packets in columns, passed from the decode worker to the loader without
 * copying (the typed arrays' buffers are transferred). Every other event of the session travels
 * beside the packets, tagged with the packet index it came before, so the loader sees all
 * events in file order.
 */
import type { SessionEvent } from '../../recorder/session/events.js';
import type { DnsMessage } from '../dns/message.js';

/** Column name -> typed array constructor. -1 (or 0 for ipVersion) means "absent". */
export const PACKET_COLUMNS = {
  t: Float64Array, // session ns: exact in a double below 2^53
  interfaceId: Int32Array,
  direction: Uint8Array,
  origLen: Int32Array,
  capLen: Int32Array,
  ipVersion: Uint8Array,
  protocol: Int16Array,
  fragOffset: Int32Array,
  /** Index into `strings`: why the packet could not be fully read. */
  problem: Int32Array,
  /** Addresses: IPv4 in word 0; IPv6 in words 0..3, network order. */
  src0: Uint32Array, src1: Uint32Array, src2: Uint32Array, src3: Uint32Array,
  dst0: Uint32Array, dst1: Uint32Array, dst2: Uint32Array, dst3: Uint32Array,
  srcPort: Int32Array,
  dstPort: Int32Array,
  icmpType: Int16Array,
  icmpCode: Int16Array,
  tcpFlags: Uint8Array,
  seq: Uint32Array,
  ack: Uint32Array,
  window: Int32Array,
  ipTotalLen: Int32Array,
  l4Len: Int32Array,
  payloadLen: Int32Array,
  udpLength: Int32Array,
  /** First three transport payload bytes (big-endian in 24 bits), or -1: DNS and NTP role flips read them. */
  appHead: Int32Array,
  /** Index into `strings`: the capture's process key for the packet. */
  processKey: Int32Array,
} as const;

export type PacketColumnName = keyof typeof PACKET_COLUMNS;
export type PacketColumns = { [K in PacketColumnName]: InstanceType<(typeof PACKET_COLUMNS)[K]> };

/** A DNS message found in packet `packet` of the batch, parsed in the worker; the loader adds the flow. */
export type DnsSighting = Omit<DnsMessage, 'records'> & { packet: number };

export interface PacketBatch {
  count: number;
  /** Bytes of the session file consumed when the batch was sent: for progress bars. */
  bytesRead: number;
  bytesTotal: number;
  columns: PacketColumns;
  /** Strings the columns refer to by index (problems, process keys). */
  strings: string[];
  /** Non-packet events, each placed before packet `before` of this batch. */
  events: { before: number; event: SessionEvent }[];
  dns: DnsSighting[];
}

export const BATCH_SIZE = 16384;

export function newColumns(size = BATCH_SIZE): PacketColumns {
  return Object.fromEntries(Object.entries(PACKET_COLUMNS).map(([name, Array]) => [name, new Array(size)])) as unknown as PacketColumns;
}

export const transferList = (columns: PacketColumns): ArrayBuffer[] => Object.values(columns).map((a) => a.buffer as ArrayBuffer);
