/**
 * The processes a pcapng capture names its packets by, in each dialect captures carry them:
 *  - Apple's process information blocks (type 0x80000001: pid, name 2, path 3), named by index
 *    from an EPB's option 0x8001 (the process) or 0x8003 (the effective process) — `tcpdump -k`;
 *  - Wireshark's process-information custom blocks (PEN 32622, entry 3: pid, name 2, path 3,
 *    NUL-separated command line 4, parent pid 5, start time 9), matched by the pid of the
 *    `epb_processid_threadid` option (8) and, for one pid used twice, by start time;
 *  - ptcpdump's packet comments ("PID: n\nCmd: path\nArgs: ..." and "ParentPID: n ...");
 *  - the bare `epb_processid_threadid` pid.
 * Every process is keyed `pid~name` (`pid~name@start` where a start time tells two apart).
 */
export interface CaptureProcess {
  key: string;
  pid: number;
  name: string | null;
  path: string | null;
  argv?: string[] | null;
  ppid?: number | null;
  /** Start time (ns since 1970) from a Wireshark block. */
  startNs?: bigint | null;
  /** Its `process` event has been written. */
  announced: boolean;
}

export interface PcapngOption {
  code: number;
  value: Buffer;
}

/** What an enhanced packet block says of its process. */
export interface PacketProcessHints {
  /** Index of the Apple process block of the process (0x8001) and of the effective process (0x8003). */
  apple: number | null;
  appleEffective: number | null;
  /** Packet comments (opt_comment). */
  comments: string[];
  /** epb_processid_threadid's process id; 0 when absent or unknown. */
  pid: number;
}

const text = (value: Buffer) => value.toString('utf8').replace(/\0+$/, '');

export class PcapngProcesses {
  /** Apple's blocks of the current section, in order: EPBs name them by index. */
  private apple: CaptureProcess[] = [];
  /** Wireshark's blocks of the current section, by pid, in file order. */
  private wireshark = new Map<number, CaptureProcess[]>();
  /** Processes known from comments or a bare pid, by key (they outlive sections). */
  private readonly described = new Map<string, CaptureProcess>();

  /** A new section: block indexes start again. */
  newSection(): void {
    this.apple = [];
    this.wireshark = new Map();
  }

  addApple(pid: number, options: PcapngOption[]): void {
    let name: string | null = null;
    let path: string | null = null;
    for (const { code, value } of options) {
      if (code === 2) name = text(value);
      else if (code === 3) path = text(value);
    }
    this.apple.push({ key: `${pid}~${name ?? path ?? ''}`, pid, name, path, announced: false });
  }

  /** An Apple block too short to read still takes its index, so later indexes stay right. */
  addUnreadableApple(): void {
    this.apple.push({ key: '0~', pid: 0, name: null, path: null, announced: false });
  }

  addWireshark(pid: number, options: PcapngOption[]): void {
    const p: CaptureProcess = { key: '', pid, name: null, path: null, argv: null, ppid: null, startNs: null, announced: false };
    for (const { code, value } of options) {
      if (code === 2) p.name = value.toString('utf8');
      else if (code === 3) p.path = value.toString('utf8');
      else if (code === 4) p.argv = text(value).split('\0');
      else if (code === 5 && value.length >= 4) p.ppid = value.readUInt32LE(0);
      else if (code === 9 && value.length >= 8) p.startNs = value.readBigUInt64LE(0);
    }
    const name = p.name ?? p.path?.split('/').pop() ?? '';
    p.key = p.startNs != null ? `${pid}~${name}@${p.startNs}` : `${pid}~${name}`;
    this.wireshark.set(pid, [...(this.wireshark.get(pid) ?? []), p]);
  }

  /** The process of a packet at sec.nsec, strongest dialect first; undefined if none names one. */
  forPacket(hints: PacketProcessHints, sec: number, nsec: number): CaptureProcess | undefined {
    const apple = (hints.apple !== null ? this.apple[hints.apple] : undefined) ?? (hints.appleEffective !== null ? this.apple[hints.appleEffective] : undefined);
    if (apple) return apple;
    const commented = hints.comments.length ? this.fromComments(hints.comments.join('\n')) : undefined;
    if (commented) return commented;
    return hints.pid > 0 ? this.byPid(hints.pid, sec, nsec) : undefined;
  }

  /**
   * Of Wireshark's blocks for `pid`, the one started last before the packet (the earliest if
   * none had started; the last block if they carry no start time), as Wireshark matches them;
   * else a process known by its pid alone.
   */
  private byPid(pid: number, sec: number, nsec: number): CaptureProcess {
    const blocks = this.wireshark.get(pid);
    if (blocks?.length) {
      const timed = blocks.filter((b) => b.startNs != null);
      if (!timed.length) return blocks.at(-1)!;
      const t = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
      const started = timed.filter((b) => b.startNs! <= t);
      const pick = (list: CaptureProcess[], latest: boolean) => list.reduce((a, b) => ((latest ? b.startNs! > a.startNs! : b.startNs! < a.startNs!) ? b : a));
      return started.length ? pick(started, true) : pick(timed, false);
    }
    return this.describe(`${pid}~`, () => ({ key: `${pid}~`, pid, name: null, path: null, announced: false }));
  }

  /** ptcpdump joins Args with spaces, so argv is split on spaces (arguments with spaces are lost). */
  private fromComments(comment: string): CaptureProcess | undefined {
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(comment)?.[1];
    const pid = Number(field('PID'));
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    const path = field('Cmd') ?? null;
    const name = path?.split('/').pop() ?? null;
    return this.describe(`${pid}~${name ?? ''}`, (key) => {
      const ppid = Number(field('ParentPID'));
      const args = field('Args');
      return { key, pid, name, path, argv: args ? args.split(' ') : null, ppid: Number.isSafeInteger(ppid) && ppid > 0 ? ppid : null, announced: false };
    });
  }

  private describe(key: string, make: (key: string) => CaptureProcess): CaptureProcess {
    let p = this.described.get(key);
    if (!p) this.described.set(key, (p = make(key)));
    return p;
  }
}
