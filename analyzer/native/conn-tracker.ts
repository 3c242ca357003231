/**
 * The native connection tracker (src/np_track.h), when `npm install` could build it; without it
 * analyzer/load/track.ts tracks every packet in TypeScript, with the same flows.
 */
import type { PlainColumn } from '../db/parquet-rows.js';
import type { RowColumns, TrackColumns } from '../load/packet-batch.js';
import { nativeAddon } from './addon.js';

/** Where the last packet tracked landed (the constructor's Int32Array). */
export const Hit = { flowNo: 0, isOrig: 1, isNew: 2, ipVersion: 3, respAddr: 4, respPort: 8, finished: 9, length: 10 } as const;

/**
 * The first flows retired and not yet drained, in the order they were retired: their numbers, and
 * the flows table's columns tracking knows (every one but session_id and the content columns),
 * by their names in schema.sql, in Parquet's PLAIN layout.
 */
export interface DrainedFlows {
  count: number;
  flowNo: Int32Array;
  columns: Record<string, PlainColumn>;
}

export interface NativeConnTracker {
  /** Binds rows to track in `slot` (0 or 1): trackColumnsInOrder's arrays. */
  columns(slot: number, arrays: ArrayBufferView[]): void;
  /** Tracks rows [from, to) of `slot`; returns the row it stopped at: `to`, or a fragment that completes a datagram (the caller's to track). */
  track(slot: number, from: number, to: number): number;
  /** Retires up to `max` open connections, oldest first, as the session's end does; returns how many. */
  finishOldest(max: number): number;
  /** Connections retired early to keep at most the constructor's `maxOpen` open (tracker.ts makeRoom). */
  evicted(): number;
  /** The first `max` flows retired (all, without it); Hit.finished counts those left. */
  drain(max?: number): DrainedFlows;
}

interface Addon {
  /** `uidSeed`: the session's (FlowUids), for the uids of the flows it retires; `maxOpen`: MAX_OPEN_CONNECTIONS. */
  ConnTracker: new (hit: Int32Array, uidSeed: number, maxOpen: number) => NativeConnTracker;
}

/** The addon's tracker, or null where it was not built. */
export const nativeTracker = typeof nativeAddon?.ConnTracker === 'function' ? (nativeAddon as unknown as Addon) : null;

/**
 * What the tracker reads of a batch, then the columns it fills, in np_track_columns' order: the
 * batch's flow_no and from_first_sender, and per row whether the originator sent it and the
 * responder's port (`roles`, the caller's).
 */
export const trackColumnsInOrder = (r: RowColumns, k: TrackColumns, roles: PacketRoles): ArrayBufferView[] => [
  k.tf, r.t, r.ip_version, r.protocol, k.src0, k.src1, k.src2, k.src3, k.dst0, k.dst1, k.dst2, k.dst3,
  r.src_port, r.dst_port, k.fragOffset, k.broken, k.badChecksum, k.icmpType, k.icmpCode, r.tcp_flags, r.seq, r.ack,
  k.window, r.ip_len, k.l4Len, r.payload_len, k.udpLength, k.appHead, k.macSrc, k.macDst, k.fragment, k.datagram,
  r.flow_no, r.from_first_sender, roles.isOrig, roles.respPort,
];

/** Per row of a batch, as the roles stood after it: sent by the originator (1), and the responder's port. */
export interface PacketRoles {
  isOrig: Uint8Array;
  respPort: Int32Array;
}
