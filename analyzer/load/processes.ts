/**
 * Process instances from exec/fork/exit/process events. One instance per key; a macOS exec that
 * changes the key (new pidversion) continues the same instance under an alias, so pid reuse
 * never merges two processes and an exec never splits one. Images are kept in exec order.
 */
import type { CgroupFields, ExecEvent, ExitEvent, ForkEvent, ProcessEvent, ProcessImage } from '../../recorder/session/events.js';

/** One image a process ran, from `t` on. */
export type ImageRow = Pick<ProcessImage, 'path' | 'argv' | 'signingId' | 'teamId' | 'cdhash' | 'isPlatformBinary'> & { t: number };

/** One process instance, as the processes table holds it. */
export interface ProcessRow extends Pick<ProcessImage, 'key' | 'pid' | 'version' | 'ppid' | 'parentKey' | 'uid'> {
  origin: 'fork' | 'snapshot' | 'seen' | 'pcapng';
  firstSeenT: number;
  execT: number | null;
  exitT: number | null;
  exitStatus: number | null;
  images: ImageRow[];
  /** The cgroup it was last seen in (a process can be moved, and exec is when runtimes have put it in place). */
  cgroupId: number | null;
  cgroupPath: string | null;
}

const imageOf = (t: number, e: ProcessImage): ImageRow => ({
  t, path: e.path, argv: e.argv, signingId: e.signingId, teamId: e.teamId, cdhash: e.cdhash, isPlatformBinary: e.isPlatformBinary,
});

/** Where an event says a process's cgroup is: a newer sighting replaces an older one, a silent event keeps it. */
function placeIn(row: ProcessRow, e: CgroupFields): void {
  if (e.cgroupId == null) return;
  if (e.cgroupId !== row.cgroupId || e.cgroupPath) row.cgroupPath = e.cgroupPath ?? null;
  row.cgroupId = e.cgroupId;
}

export class ProcessModel {
  readonly processes = new Map<string, ProcessRow>();
  /** Every key a sensor used -> the instance key. */
  readonly aliases = new Map<string, string>();

  instanceOf(key: string): string {
    return this.aliases.get(key) ?? key;
  }

  private get(key: string): ProcessRow | undefined {
    return this.processes.get(this.instanceOf(key));
  }

  private add(row: ProcessRow): ProcessRow {
    this.processes.set(row.key, row);
    this.aliases.set(row.key, row.key);
    return row;
  }

  /**
   * A process described without an exec or fork. `origin` says how it came to be known: a
   * sensor's start-up snapshot, a first sighting (an importer's process is always one, even in
   * the capture's first message), or a pcapng process block.
   */
  process(e: ProcessEvent, origin: 'snapshot' | 'seen' | 'pcapng'): void {
    const existing = this.get(e.key);
    if (existing) {
      if (existing.images.length === 0 || existing.images.at(-1)!.path === null) existing.images.push(imageOf(e.t, e));
      existing.parentKey ??= e.parentKey ? this.instanceOf(e.parentKey) : null;
      existing.ppid ??= e.ppid;
      existing.uid ??= e.uid;
      if (existing.cgroupId === null) placeIn(existing, e);
      return;
    }
    const row = this.add({
      key: e.key, pid: e.pid, version: e.version, ppid: e.ppid, parentKey: e.parentKey ? this.instanceOf(e.parentKey) : null, uid: e.uid,
      origin, firstSeenT: e.t, execT: null, exitT: null, exitStatus: null, images: [imageOf(e.t, e)], cgroupId: null, cgroupPath: null,
    });
    placeIn(row, e);
  }

  fork(e: ForkEvent): void {
    if (this.get(e.childKey)) return;
    const parent = this.get(e.parentKey);
    const row = this.add({
      key: e.childKey, pid: e.childPid, version: e.childVersion, ppid: e.parentPid, parentKey: this.instanceOf(e.parentKey), uid: parent?.uid ?? null,
      origin: 'fork', firstSeenT: e.t, execT: null, exitT: null, exitStatus: null,
      // Until it execs, a child runs its parent's image.
      images: parent?.images.length ? [{ ...parent.images.at(-1)!, t: e.t }] : [],
      cgroupId: parent?.cgroupId ?? null, cgroupPath: parent?.cgroupPath ?? null,
    });
    placeIn(row, e);
  }

  exec(e: ExecEvent): void {
    let row = (e.formerKey && this.get(e.formerKey)) || this.get(e.key);
    if (!row) {
      row = this.add({
        key: e.formerKey ?? e.key, pid: e.pid, version: e.version, ppid: e.ppid, parentKey: e.parentKey ? this.instanceOf(e.parentKey) : null,
        uid: e.uid, origin: 'seen', firstSeenT: e.t, execT: null, exitT: null, exitStatus: null, images: [], cgroupId: null, cgroupPath: null,
      });
    }
    this.aliases.set(e.key, row.key);
    row.execT = e.t;
    row.uid = e.uid ?? row.uid;
    row.ppid ??= e.ppid;
    row.parentKey ??= e.parentKey ? this.instanceOf(e.parentKey) : null;
    row.images.push(imageOf(e.t, e));
    placeIn(row, e);
  }

  exit(e: ExitEvent): void {
    const row = this.get(e.key);
    if (!row) return;
    row.exitT = e.t;
    row.exitStatus = e.status;
  }
}
