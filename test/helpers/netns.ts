/**
 * Network namespaces for the sensor's tests, fixtures and benchmark (root): made with loopback
 * up, commands run inside them, and children waited on until they say they are ready.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';

/** `ip` arguments that run `command` inside namespace `ns`. */
export const inNs = (ns: string, command: string[]): string[] => ['netns', 'exec', ns, ...command];

/** Makes namespace `ns` afresh (a leftover of a killed run is removed first), loopback up. */
export function addNetns(ns: string): void {
  spawnSync('ip', ['netns', 'del', ns]);
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', inNs(ns, ['ip', 'link', 'set', 'lo', 'up']));
}

/**
 * Ends every process still in namespace `ns`, then removes it: a test that failed half-way would
 * otherwise leave its sensor recording (its programs attached to the cgroup root) after the
 * namespace had gone.
 */
export function removeNetns(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  spawnSync('ip', ['netns', 'del', ns]);
}

/** Settles once `text` has appeared on the child's stdout or stderr; fails after 20 s. */
export function waitFor(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" from ${child.spawnargs.join(' ')}: ${seen}`)), 20_000);
    const look = (data: Buffer) => {
      seen += data.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
  });
}
