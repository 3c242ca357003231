/**
 * The events of a netprov session, defined once. SPEC.md beside this file gives the byte layout;
 * the field order of each event on the wire is the order of its fields here (see codec.ts).
 *
 * Times: `t` is the event's time in integer nanoseconds since the session's `startNs` (the header).
 * A process key is an opaque string, unique per process instance within a session: Linux sensors
 * use `pid@start` (start time in ns since boot), macOS `pid.pidversion`, pcapng process blocks
 * `pid~name`. A pid alone is never a key.
 */

/** Kind numbers are part of the format: never renumber, only append. */
export const Kind = {
  interface: 1,
  process: 2,
  exec: 3,
  fork: 4,
  exit: 5,
  flowOpen: 6,
  flowClose: 7,
  packet: 8,
  loss: 9,
  clockSync: 10,
  mark: 11,
} as const;
export type KindName = keyof typeof Kind;
export const kindNames: readonly KindName[] = Object.keys(Kind) as KindName[];
export const kindNameOf = (code: number): KindName | undefined => kindNames[code - 1];

/** Which way a packet or a flow went, seen from the recording host. */
export const Direction = { unknown: 0, in: 1, out: 2 } as const;
export type DirectionCode = (typeof Direction)[keyof typeof Direction];

/** How a sensor learned of a flow. */
export const FlowOrigin = {
  connect: 1, // the process connected (TCP SYN_SENT, UDP connect)
  accept: 2, // the process accepted an inbound connection
  send: 3, // an unconnected datagram send (sendto/sendmsg)
  listen: 4, // the process bound or listens on the local port (port ownership)
  snapshot: 5, // the socket existed when recording began
  contentFilter: 6, // macOS NEFilterDataProvider handleNewFlow
} as const;
export type FlowOriginCode = (typeof FlowOrigin)[keyof typeof FlowOrigin];

/** A capture interface; packets name it by `id`. Must precede the packets that use it. */
export interface InterfaceEvent {
  kind: 'interface';
  t: number;
  /** Session-wide interface number. */
  id: number;
  name: string;
  /** LINKTYPE_* number from the tcpdump.org registry (1 Ethernet, 101 raw IP, 113 SLL, 276 SLL2, 0 BSD loopback). */
  linkType: number;
  snapLen: number;
  /** 1.2: inode of the network namespace the interface is in (Linux sensor). */
  netns?: number | null;
}

/** What is known of one process image: shared by `process` and `exec`. */
export interface ProcessImage {
  key: string;
  pid: number;
  /** macOS pidversion, or Linux start time in ns since boot; null when the source has neither. */
  version: number | null;
  ppid: number | null;
  parentKey: string | null;
  uid: number | null;
  path: string | null;
  argv: string[] | null;
  /** macOS code signing identity; null elsewhere or when unsigned. */
  signingId: string | null;
  teamId: string | null;
  /** Hex string. */
  cdhash: string | null;
  isPlatformBinary: boolean | null;
}

/** 1.2: the cgroup v2 a process is in (Linux), as it was at the event. */
export interface CgroupFields {
  /** cgroup v2 id: the inode number of the cgroup's directory. */
  cgroupId?: number | null;
  /** Its path below the cgroup v2 root (`/system.slice/docker-<id>.scope`); null when it was gone before it could be read. */
  cgroupPath?: string | null;
}

/** A process that existed before recording began (sensor snapshot) or was described without an exec. */
export interface ProcessEvent extends ProcessImage, CgroupFields {
  kind: 'process';
  t: number;
}

/**
 * A process replaced its image: the same instance runs a new program. On Linux the key stays
 * the same; on macOS exec gives the process a new pidversion and so a new key, and `formerKey`
 * names the key it had before, so that both keys mean one process instance.
 */
export interface ExecEvent extends ProcessImage, CgroupFields {
  kind: 'exec';
  t: number;
  formerKey: string | null;
}

/** A new process instance; it runs its parent's image until it execs (and is in the cgroup given, its parent's but for CLONE_INTO_CGROUP). */
export interface ForkEvent extends CgroupFields {
  kind: 'fork';
  t: number;
  childKey: string;
  childPid: number;
  childVersion: number | null;
  parentKey: string;
  parentPid: number;
}

export interface ExitEvent {
  kind: 'exit';
  t: number;
  key: string;
  pid: number;
  /** Wait status as the platform reports it; null when unknown. */
  status: number | null;
}

/** The 5-tuple of a flow as the owning socket sees it. */
export interface SocketTuple {
  /** IP protocol number (6 TCP, 17 UDP, ...). */
  protocol: number;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
}

/** A sensor saw a process open (or own) a socket flow. */
export interface FlowOpenEvent extends SocketTuple {
  kind: 'flowOpen';
  t: number;
  /** Sensor's flow identity (Linux socket cookie, macOS NEFilterFlow identifier). */
  flowId: string;
  /** Owning process; null when the sensor could not tell. */
  processKey: string | null;
  direction: DirectionCode;
  origin: FlowOriginCode;
  /** Remote host name when the sensor knew it (macOS remoteHostname). */
  remoteHost: string | null;
  /** 1.2: inode of the socket's network namespace (Linux): a tuple means something only inside one. */
  netns?: number | null;
}

/** A sensor saw the flow end. */
export interface FlowCloseEvent extends SocketTuple {
  kind: 'flowClose';
  t: number;
  flowId: string;
  processKey: string | null;
  bytesIn: number | null;
  bytesOut: number | null;
}

export interface PacketEvent {
  kind: 'packet';
  t: number;
  interfaceId: number;
  direction: DirectionCode;
  /** Length on the wire; `data` may be shorter (snap length). */
  origLen: number;
  data: Uint8Array;
  /** Process the capture attributed this packet to (pcapng process blocks, macOS packet metadata). */
  processKey: string | null;
}

/** Events a source lost: recorded so that every report can show them. */
export interface LossEvent {
  kind: 'loss';
  t: number;
  /** Where the loss happened: `bpf-ringbuf`, `packet-ring`, `es-sequence`, `recorder`, ... */
  source: string;
  count: number;
  reason: string;
}

/** At session time `t`, the named clock read `value` ns: the conversion a sensor applied. */
export interface ClockSyncEvent {
  kind: 'clockSync';
  t: number;
  clock: string;
  /** ns; a bigint where the reading passes 2^53 (CLOCK_REALTIME). */
  value: number | bigint;
  note: string | null;
}

/** Free text placed by a user or a test. */
export interface MarkEvent {
  kind: 'mark';
  t: number;
  text: string;
}

export type SessionEvent = (
  | InterfaceEvent
  | ProcessEvent
  | ExecEvent
  | ForkEvent
  | ExitEvent
  | FlowOpenEvent
  | FlowCloseEvent
  | PacketEvent
  | LossEvent
  | ClockSyncEvent
  | MarkEvent) & {
  /**
   * The event's time exactly, where `t` (a double) cannot hold it: past 2^53 ns (104 days) from
   * the session start. Readers set it from the file's 64-bit integer; writers write it instead of `t`.
   */
  tExact?: bigint;
};

/** The header frame: everything a reader needs before the first event. */
export interface SessionHeader {
  format: 'netprov-session';
  /** [major, minor]: a reader refuses a newer major. */
  version: [number, number];
  sessionId: string;
  host: string;
  sensor: { name: string; version: string };
  /** Wall-clock start, ns since the Unix epoch, exact. */
  startNs: bigint;
  /** How the sensor's clocks map to session time. */
  clockNotes: string;
}

/** The trailer frame: a summary a reader may use but never needs. */
export interface SessionTrailer {
  /** Last event time, ns since start. */
  endT: number;
  counts: Partial<Record<KindName, number>>;
  losses: number;
  chunks: number;
}

export const FORMAT_NAME = 'netprov-session';
export const FORMAT_VERSION: [number, number] = [1, 2];
