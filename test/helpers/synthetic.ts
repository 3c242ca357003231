/** Builds sessions event by event through the real SessionWriter, for analyzer tests. */
import { join } from 'node:path';
import type { ExecEvent, FlowOpenEvent, ForkEvent, SessionEvent } from '../../recorder/session/events.js';
import { FileSink } from '../../recorder/session/sink.js';
import { newHeader } from '../../recorder/session/new-header.js';
import { SessionWriter } from '../../recorder/session/writer.js';
import { scratch } from './paths.js';

export const MS = 1_000_000;
export const S = 1_000_000_000;

export class SyntheticSession {
  private readonly events: SessionEvent[] = [];
  readonly path: string;

  /** `netns`: the network namespace eth0 is in, as the Linux sensor records it. */
  constructor(name = 'synthetic.npsession', readonly startNs = 1_700_000_000_000_000_000n, netns: number | null = null) {
    this.path = join(scratch(), name);
    this.events.push({ kind: 'interface', t: 0, id: 0, name: 'eth0', linkType: 1, snapLen: 65535, netns });
  }

  add(event: SessionEvent): this {
    this.events.push(event);
    return this;
  }

  /** A Linux-shaped exec: key pid@start. */
  exec(t: number, pid: number, start: number, path: string, argv: string[], parentKey: string | null = null): string {
    const key = `${pid}@${start}`;
    const e: ExecEvent = {
      kind: 'exec', t, key, pid, version: start, ppid: null, parentKey, uid: 1000, path, argv, signingId: null, teamId: null, cdhash: null,
      isPlatformBinary: null, formerKey: null,
    };
    this.events.push(e);
    return key;
  }

  fork(t: number, parentKey: string, parentPid: number, childPid: number, childStart: number): string {
    const childKey = `${childPid}@${childStart}`;
    const e: ForkEvent = { kind: 'fork', t, childKey, childPid, childVersion: childStart, parentKey, parentPid };
    this.events.push(e);
    return childKey;
  }

  socket(t: number, processKey: string | null, protocol: number, local: [string, number], remote: [string, number], origin: FlowOpenEvent['origin'], flowId: string): void {
    this.events.push({
      kind: 'flowOpen', t, flowId, processKey, protocol, localAddr: local[0], localPort: local[1], remoteAddr: remote[0], remotePort: remote[1],
      direction: origin === 2 || origin === 4 ? 1 : 2, origin, remoteHost: null,
    });
  }

  /** Packets `gap` apart starting at `t`. */
  packets(t: number, frames: Buffer[], gap = MS, processKey: string | null = null): number {
    frames.forEach((data, i) => this.events.push({ kind: 'packet', t: t + i * gap, interfaceId: 0, direction: 0, origLen: data.length, data, processKey }));
    return t + frames.length * gap;
  }

  write(options: { chunkBytes?: number } = {}): string {
    const writer = new SessionWriter(new FileSink(this.path), newHeader({ startNs: this.startNs, sensor: { name: 'synthetic', version: '1' } }), options);
    for (const e of [...this.events].sort((a, b) => a.t - b.t)) writer.append(e);
    writer.close();
    return this.path;
  }
}
