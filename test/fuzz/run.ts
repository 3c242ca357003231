/**
 * `npm run fuzz -- --seconds N [--seed S]`: mutates real inputs — captures, pcapng with process
 * blocks, eslogger JSON, sessions — and feeds each mutant to a child process (target.ts) that
 * imports, inspects and analyzes it. Mutations: bit flips, truncations, and length, count and
 * time fields set to 0, odd, or huge. Fails (exit 1) on any crash (what a user would see as
 * exit 2), on a hang (an input taking over 30 s), or on a child over 1 GiB of RSS; the mutant
 * that did it is kept and named.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Job, Outcome } from './target.js';

const root = resolve(import.meta.dirname, '../../..');
const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const seconds = option('seconds', 60);
let state = option('seed', Date.now() % 2 ** 31) >>> 0 || 1;
const seed = state;

/** xorshift32: a run is reproduced by its seed. */
function random(n: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
}

interface Seed {
  name: string;
  bytes: Buffer;
  session: boolean;
}

function seeds(): Seed[] {
  const out: Seed[] = [];
  const add = (path: string, session = false) => out.push({ name: path.slice(root.length + 1), bytes: readFileSync(path), session });
  for (const name of ['http-get.pcap', 'dhcp.pcap', 'ftp-ipv4.pcap']) add(join(root, 'test/oracle/zeek', name));
  const corpus = join(root, 'test/oracle/zeek-corpus');
  for (const name of ['core.tunnels.gre.pcap', 'core.tunnels.teredo.pcap', 'core.radiotap.pcap', 'scripts.base.protocols.irc.basic.pcapng', 'core.cisco-fabric-path.pcap']) add(join(corpus, name));
  add(join(root, 'test/data/eslogger-sample.jsonl'));
  // A gzip input: its mutants break the inflater's paths (corrupt, cut, trailing bytes).
  out.push({ name: 'test/oracle/zeek/ftp-ipv4.pcap (gzip)', bytes: gzipSync(readFileSync(join(root, 'test/oracle/zeek/ftp-ipv4.pcap'))), session: false });
  for (const name of ['macos-curl.npsession', 'linux-curl.npsession', 'http-get.npsession']) add(join(root, 'fixtures', name), true);
  return out;
}

/** Small values and the edges of 16-, 32- and 64-bit fields, where parsers break. */
const NASTY = [0, 1, 3, 7, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

function mutate(input: Buffer): Buffer {
  const b = Buffer.from(input);
  const rounds = 1 + random(4);
  let out = b;
  for (let r = 0; r < rounds && out.length > 0; r++) {
    const at = random(out.length);
    switch (random(6)) {
      case 0: // bit flips
        for (let i = 0, n = 1 + random(8); i < n; i++) out[random(out.length)] ^= 1 << random(8);
        break;
      case 1: // cut short
        out = out.subarray(0, at);
        break;
      case 2: // a 32-bit field set to an edge value, in either byte order
        if (at + 4 <= out.length) {
          const v = NASTY[random(NASTY.length)];
          if (random(2)) out.writeUInt32LE(v >>> 0, at);
          else out.writeUInt32BE(v >>> 0, at);
        }
        break;
      case 3: // a 16-bit field
        if (at + 2 <= out.length) out.writeUInt16LE(NASTY[random(NASTY.length)] & 0xffff, at);
        break;
      case 4: // a 64-bit field: huge, or the sign bit
        if (at + 8 <= out.length) out.writeBigUInt64LE(random(2) ? 0xffffffffffffffffn : 0x8000000000000000n + BigInt(random(1000)), at);
        break;
      case 5: // a slice repeated (duplicated chunks, blocks, lines)
        {
          const end = Math.min(out.length, at + 1 + random(4096));
          out = Buffer.concat([out.subarray(0, end), out.subarray(at, end), out.subarray(end)]);
        }
        break;
    }
  }
  return out;
}

class Target {
  private child: ChildProcess;
  constructor() {
    this.child = this.start();
  }
  private start(): ChildProcess {
    return fork(join(root, 'dist/test/fuzz/target.js'), [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], execArgv: ['--max-old-space-size=2048'] });
  }
  run(job: Job): Promise<Outcome | 'hang'> {
    return new Promise((done) => {
      const child = this.child;
      const finish = (outcome: Outcome | 'hang', restart: boolean) => {
        clearTimeout(timer);
        child.off('message', answered);
        child.off('exit', exited);
        if (restart) this.child = this.start();
        done(outcome);
      };
      const answered = (outcome: Outcome) => finish(outcome, false);
      const exited = (code: number | null) => finish({ crash: `child exited (${code}) on this input`, rss: 0 }, true);
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish('hang', true);
      }, 30_000);
      child.on('message', answered);
      child.on('exit', exited);
      child.send(job);
    });
  }
  stop(): void {
    this.child.removeAllListeners();
    this.child.kill();
  }
}

const work = mkdtempSync(join(tmpdir(), 'netprov-fuzz-'));
const kept = join(root, 'fuzz-findings');
const all = seeds();
const target = new Target();
const until = Date.now() + seconds * 1000;
let tried = 0;
let maxRss = 0;
const findings: string[] = [];
while (Date.now() < until) {
  const source = all[random(all.length)];
  const mutant = mutate(source.bytes);
  const input = join(work, `input-${tried}`);
  writeFileSync(input, mutant);
  const outcome = await target.run({ input, session: source.session, scratch: work });
  tried++;
  const problem = outcome === 'hang' ? 'a hang (over 30 s)' : outcome.crash ? `a crash: ${outcome.crash.split('\n').slice(0, 3).join(' | ')}` : outcome.rss > 1 << 30 ? `RSS ${outcome.rss >> 20} MiB` : null;
  if (outcome !== 'hang') maxRss = Math.max(maxRss, outcome.rss);
  if (problem) {
    mkdirSync(kept, { recursive: true });
    const name = join(kept, `${source.name.replace(/\W+/g, '_')}-${seed}-${tried}`);
    copyFileSync(input, name);
    findings.push(`${name}: ${problem}`);
    console.log(`fuzz: ${name}: ${problem}`);
  }
  rmSync(input, { force: true });
  for (const f of readdirSync(work)) if (f.startsWith('.')) rmSync(join(work, f), { recursive: true, force: true });
}
target.stop();
rmSync(work, { recursive: true, force: true });
console.log(`fuzz: seed ${seed}, ${seconds} s, ${tried} inputs tried, ${findings.length} crashes or hangs, child peak RSS ${maxRss >> 20} MiB`);
process.exitCode = findings.length ? 1 : 0;
