/**
 * The native connection tracker (src/np_track.h), when `npm install` could build it; without it
 * analyzer/load/track.ts tracks every packet in TypeScript, with the same flows.
 */
import type { RowColumns, TrackColumns } from '../load/packet-batch.js';
import { nativeAddon } from './addon.js';

/** Where the last packet tracked landed (the constructor's Int32Array). */
export const Hit = { flowNo: 0, isOrig: 1, isNew: 2, ipVersion: 3, respAddr: 4, respPort: 8, finished: 9, length: 10 } as const;

/** The numbers of one finished flow in drain()'s `numbers`, in order (conn_tracker.cc). */
export const FlowNumbers = {
  no: 0, protocol: 1, origPort: 2, respPort: 3, origBytes: 4, respBytes: 5, missedBytes: 6,
  origPkts: 7, origIpBytes: 8, respPkts: 9, respIpBytes: 10, start: 11, last: 12, durationNs: 13,
  /** The lengths of the flow's texts, in the order they follow one another (a MAC's -1: none). */
  connStateLength: 14, historyLength: 15, uidLength: 16, origAddrLength: 17, respAddrLength: 18, communityIdLength: 19,
  origL2Length: 20, respL2Length: 21, length: 22,
} as const;

/**
 * Flows retired since the last drain: FlowNumbers per flow; start, last and duration (ns) per flow
 * exactly, for times past 2^53 ns, which the numbers round; each one's texts (conn_state, history,
 * uid, orig_h, resp_h, community_id, orig_l2_addr, resp_l2_addr: src/np_flow_text.h), concatenated.
 */
export interface DrainedFlows {
  numbers: Float64Array;
  times: BigInt64Array;
  text: string;
}

export interface NativeConnTracker {
  /** Binds rows to track in `slot` (0 or 1): trackColumnsInOrder's arrays. */
  columns(slot: number, arrays: ArrayBufferView[]): void;
  /** Tracks rows [from, to) of `slot`; returns the row it stopped at: `to`, or a fragment that completes a datagram (the caller's to track). */
  track(slot: number, from: number, to: number): number;
  finishAll(): void;
  drain(): DrainedFlows;
}

interface Addon {
  /** `uidSeed`: the session's (FlowUids), for the uids of the flows it retires. */
  ConnTracker: new (hit: Int32Array, uidSeed: number) => NativeConnTracker;
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
