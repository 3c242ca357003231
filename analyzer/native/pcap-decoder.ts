/**
 * The native decoder of plain pcap and pcapng packets (src/np_pcap_decode.h), when `npm install`
 * could build it (analyzer/native/build.js); without it every packet is decoded in TypeScript, as
 * every packet the native decoder passes over is. Its columns are packet-batch.ts's, bound once
 * per batch.
 */
import type { PcapRecords } from '../../recorder/import/source.js';
import { nativeAddon } from './addon.js';
import type { RowColumns, TrackColumns } from '../load/packet-batch.js';

export interface PcapDecoder {
  /** The layout of the records the next decode() calls read: the offered records' own (source.ts PcapRecords). */
  format(records: PcapRecords): void;
  /** The batch to fill next: `columnsInOrder`'s arrays. */
  columns(arrays: ArrayBufferView[]): void;
  /**
   * Decodes the plain records of window[pos, end) into rows `row`.. (at most `room`), numbering
   * them from `packetNo`; returns how many. `out` (the constructor's) then holds the offset after
   * the last one and its own time, seconds and nanoseconds.
   */
  decode(window: Uint8Array, pos: number, end: number, row: number, room: number, packetNo: number): number;
}

interface Addon {
  /** `verifyChecksums`: as --verify-checksums, a packet with a bad IPv4 header checksum is left to the TypeScript decoder (which drops it), a bad transport checksum marked. */
  PcapDecoder: new (out: Float64Array, verifyChecksums: boolean) => PcapDecoder;
  /** Whether the decoder takes packets of a link type at all. */
  readsLinkType(linkType: number): boolean;
}

/** The addon, or null where it was not built. */
export const nativeDecoder = nativeAddon as Addon | null;

/** The batch's columns in np_columns' order, then where each packet's TCP or UDP payload lies in the window (or -1). */
export const columnsInOrder = (r: RowColumns, k: TrackColumns, payloadAt: Int32Array, payloadEnd: Int32Array): ArrayBufferView[] => [
  r.packet_no, r.t, r.interface_id, r.direction, r.orig_len, r.cap_len, r.ip_version, r.protocol, r.src_port, r.dst_port,
  r.tcp_flags, r.seq, r.ack, r.ip_len, r.payload_len, r.process_no, r.problem_no,
  k.tf, k.src0, k.src1, k.src2, k.src3, k.dst0, k.dst1, k.dst2, k.dst3, k.fragOffset, k.broken, k.badChecksum,
  k.icmpType, k.icmpCode, k.window, k.l4Len, k.udpLength, k.appHead, k.macSrc, k.macDst, k.fragment, k.datagram,
  payloadAt, payloadEnd,
];
