/**
 * A scenario's world: network namespaces made for it (as root), processes run inside them, and
 * the ground truth they print (sysex/linux/test/actor.c's `truth` lines) or that the runner
 * knows (a spawned program's pid is the pid that opens its flows: nsenter and `ip netns exec`
 * exec it in place).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addNetns, waitFor } from '../helpers/netns.js';

export const build = join(import.meta.dirname, '../../../sysex/linux/build');
export const actor = join(build, 'actor');
export const connector = join(build, 'connector');

/** Who opened the flows to `addr`:`port`: a process (pid, its start in clock ticks when known, its executable's name), or none. */
export interface Truth {
  proto: 'tcp' | 'udp';
  addr: string;
  port: number;
  pid: number | null;
  ticks?: number;
  exe?: string;
  /** The container id its flows must carry. */
  container?: string;
  /** The DNS name its flows must carry (the name the process asked for). */
  name?: string;
}

export function parseTruth(stdout: string): Truth[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('truth '))
    .map((line) => {
      const [, proto, addr, port, pid, ticks, exe] = line.trim().split(' ');
      return pid === 'none'
        ? { proto: proto as Truth['proto'], addr, port: Number(port), pid: null }
        : { proto: proto as Truth['proto'], addr, port: Number(port), pid: Number(pid), ticks: Number(ticks), exe };
    });
}

const nsenter = (ns: string, command: string[]) => ['--net=/run/netns/' + ns, ...command];

export class World {
  readonly truths: Truth[] = [];
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly cgroups: string[] = [];

  constructor(readonly name: string) {}

  /** The name of this world's namespace `suffix`. */
  ns(suffix: string): string {
    return `np-sc-${this.name}-${suffix}`.slice(0, 40);
  }

  /** A new namespace (named by `ns`), loopback up; IPv6 off when `ipv4Only` (no neighbour discovery on its veths). */
  namespace(suffix: string, ipv4Only = false): string {
    const ns = this.ns(suffix);
    addNetns(ns);
    this.namespaces.push(ns);
    if (ipv4Only) this.sh(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    return ns;
  }

  /** A veth pair between two namespaces, each end addressed in a /24 and up. */
  link(a: string, aName: string, aAddr: string, b: string, bName: string, bAddr: string): void {
    execFileSync('ip', ['link', 'add', aName, 'netns', a, 'type', 'veth', 'peer', 'name', bName, 'netns', b]);
    for (const [ns, dev, addr] of [[a, aName, aAddr], [b, bName, bAddr]]) {
      this.sh(ns, ['ip', 'addr', 'add', `${addr}/24`, 'dev', dev]);
      this.sh(ns, ['ip', 'link', 'set', dev, 'up']);
    }
  }

  /** Runs a command in namespace `ns` to its end; its truth lines are kept unless `truth` is false. */
  sh(ns: string, command: string[], truth = true): string {
    const r = spawnSync('nsenter', nsenter(ns, command), { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) throw new Error(`${this.name}: ${command.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (truth) this.truths.push(...parseTruth(r.stdout));
    return r.stdout;
  }

  /** Runs a program that prints nothing of its own truth: it opens the flows to addr:port itself. */
  opens(ns: string, command: string[], flows: Omit<Truth, 'pid'>[], via: 'nsenter' | 'ip netns exec' = 'nsenter'): void {
    const argv = via === 'nsenter' ? ['nsenter', ...nsenter(ns, command)] : ['ip', 'netns', 'exec', ns, ...command];
    const child = spawnSync('sh', ['-c', 'echo $$; exec "$@"', 'sh', ...argv], { encoding: 'utf8', timeout: 20_000 });
    if (child.status !== 0) throw new Error(`${this.name}: ${command.join(' ')} exited ${child.status}: ${child.stderr}`);
    const pid = Number(child.stdout.split('\n')[0]);
    this.truths.push(...flows.map((f) => ({ ...f, pid })));
  }

  /** Starts a long-running program in `ns` and waits for it to print `ready`; returns its pid (the program's: nsenter execs it). */
  async start(ns: string, command: string[], ready = 'ready'): Promise<number> {
    const child = spawn('nsenter', nsenter(ns, command));
    this.children.push(child);
    await waitFor(child, ready);
    return child.pid!;
  }

  /** A cgroup v2 directory named as a container runtime names it, for the processes put in it. */
  cgroup(relative: string): string {
    const root = cgroup2Root();
    const dir = join(root, relative);
    mkdirSync(dir, { recursive: true });
    this.cgroups.push(dir);
    return dir;
  }

  close(): void {
    for (const child of this.children) child.kill('SIGKILL');
    for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns]);
    for (const dir of this.cgroups.reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        // a process is still in it: the directory stays, and the next run's mkdir reuses it
      }
    }
  }
}

/** Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems); mounted if nowhere. */
export function cgroup2Root(): string {
  const line = readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[2] === 'cgroup2');
  if (line) return line.split(' ')[1];
  const dir = '/run/netprov-scorecard-cgroup2';
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'cgroup2', 'none', dir]);
  return dir;
}

export function writeResolvConf(ns: string, nameserver: string): void {
  mkdirSync(`/etc/netns/${ns}`, { recursive: true });
  writeFileSync(`/etc/netns/${ns}/resolv.conf`, `nameserver ${nameserver}\noptions attempts:1 timeout:2\n`);
}

export function removeResolvConf(ns: string): void {
  rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
}
