/**
 * gzip inputs (recorder/import/gzip.ts): zlib in C and pako in JavaScript must hand the capture
 * readers the same bytes and the same damage, read in windows of any size — members, padding,
 * headers with every optional field, cut and corrupt data.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ByteStream } from '../../recorder/import/cursor.js';
import { PakoStream, zlibStream } from '../../recorder/import/gzip.js';
import { repoRoot, scratch } from '../helpers/paths.js';

let dir: string;
beforeAll(() => {
  dir = scratch();
});

/** Bytes that compress a little, like packets: a counter and noise. */
function sample(length: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = i % 7 === 0 ? x >>> 24 : i & 0xff;
  }
  return bytes;
}

const native = zlibStream(openSync(import.meta.filename, 'r'));
native?.close();

const inflaters: [string, (fd: number) => ByteStream][] = [
  ['pako', (fd) => new PakoStream(fd)],
  ...(native ? ([['zlib', (fd: number) => zlibStream(fd)!]] as [string, (fd: number) => ByteStream][]) : []),
];

/** Everything the stream gives, read in windows of the sizes given in turn (each asks for one byte less, written from its second). */
function inflateAll(file: string, open: (fd: number) => ByteStream, windows = [4 << 20]): { bytes: Buffer; damage: string | null; fileBytesRead: number } {
  const stream = open(openSync(file, 'r'));
  const parts: Buffer[] = [];
  for (let i = 0; ; i++) {
    const window = Buffer.alloc(windows[i % windows.length]);
    const n = stream.read(window, 1, window.length - 1);
    if (n === 0) break;
    parts.push(window.subarray(1, 1 + n));
  }
  const result = { bytes: Buffer.concat(parts), damage: stream.damage, fileBytesRead: stream.fileBytesRead };
  stream.close();
  return result;
}

function write(name: string, bytes: Buffer): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** A gzip member with every optional header field set (name, comment, extra field, header CRC). */
function memberWithAllFields(data: Buffer): Buffer {
  const extra = Buffer.from([0x41, 0x42, 3, 0, 1, 2, 3]);
  const head = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 3]),
    Buffer.from([extra.length, 0]),
    extra,
    Buffer.from('capture.pcap\0'),
    Buffer.from('taken on the gateway\0'),
  ]);
  const headCrc = Buffer.alloc(2);
  headCrc.writeUInt16LE(crc32(head) & 0xffff);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data));
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([head, headCrc, deflateRawSync(data), trailer]);
}

/** A stored (level 0) member of exactly `size` compressed bytes: members that end where a read piece does. */
function memberOfSize(size: number, seed: number): { member: Buffer; data: Buffer } {
  for (let length = size - 18; length > 0; length--) {
    const data = sample(length, seed);
    const member = gzipSync(data, { level: 0 });
    if (member.length === size) return { member, data };
  }
  throw new Error(`no stored member of ${size} bytes`);
}

describe.each(inflaters)('gzip inflated by %s', (_name, open) => {
  it('gives a member\'s bytes, in windows of any size', () => {
    const data = sample(3_000_000);
    const file = write('one.gz', gzipSync(data));
    for (const windows of [[4 << 20], [2], [7, 65_536, 3, 1_000_003], [100_000]]) {
      const out = inflateAll(file, open, windows);
      expect(out.damage).toBeNull();
      expect(out.bytes.equals(data)).toBe(true);
    }
  });

  it('reads several members as one stream, and headers with every optional field', () => {
    const a = sample(200_000, 2);
    const b = sample(50, 3);
    const c = sample(1_000_000, 4);
    const file = write('members.gz', Buffer.concat([gzipSync(a), memberWithAllFields(b), gzipSync(Buffer.alloc(0)), gzipSync(c, { level: 9 })]));
    const out = inflateAll(file, open);
    expect(out.damage).toBeNull();
    expect(out.bytes.equals(Buffer.concat([a, b, c]))).toBe(true);
  });

  it('takes a member that starts exactly where a read piece ends (16 KiB for pako, 256 KiB for zlib)', () => {
    for (const size of [16 * 1024, 256 * 1024]) {
      const first = memberOfSize(size, 5);
      const second = sample(10_000, 6);
      const out = inflateAll(write(`aligned-${size}.gz`, Buffer.concat([first.member, gzipSync(second)])), open);
      expect(out.damage).toBeNull();
      expect(out.bytes.equals(Buffer.concat([first.data, second]))).toBe(true);
    }
  });

  it('ignores zero padding after the last member, as gzip does, even where it starts a piece', () => {
    const data = sample(100_000, 7);
    for (const padded of [Buffer.concat([gzipSync(data), Buffer.alloc(600_000)]), Buffer.concat([memberOfSize(16 * 1024, 8).member, Buffer.alloc(300_000)])]) {
      const out = inflateAll(write('padded.gz', padded), open);
      expect(out.damage).toBeNull();
      expect(out.fileBytesRead).toBe(padded.length);
    }
  });

  it('reports what follows the padding, or a member, that is not gzip — and keeps what came before', () => {
    const data = sample(100_000, 9);
    const member = gzipSync(data);
    const afterPadding = inflateAll(write('after-padding.gz', Buffer.concat([member, Buffer.alloc(40_000), Buffer.from('trailing')])), open);
    expect(afterPadding.bytes.equals(data)).toBe(true);
    const at = member.length + 40_000;
    expect(afterPadding.damage).toBe(`gzip stream is corrupt in compressed bytes ${at}..${at + 1} (data after the zero padding that ends it)`);

    const garbage = inflateAll(write('garbage.gz', Buffer.concat([member, Buffer.from('not gzip at all')])), open);
    expect(garbage.bytes.equals(data)).toBe(true);
    expect(garbage.damage).toMatch(/^gzip stream is corrupt in compressed bytes \d+\.\.\d+ \(incorrect header check\)$/);
  });

  it('reports a stream cut short at the file\'s end, keeping what it inflated', () => {
    const data = sample(2_000_000, 10);
    const whole = gzipSync(data);
    const cut = whole.subarray(0, Math.floor(whole.length * 0.7));
    const out = inflateAll(write('cut.gz', cut), open);
    expect(out.damage).toBe(`gzip stream ends early (compressed offset ${cut.length})`);
    expect(out.bytes.length).toBeGreaterThan(data.length * 0.6);
    expect(out.bytes.equals(data.subarray(0, out.bytes.length))).toBe(true);
    expect(inflateAll(write('magic-only.gz', Buffer.from([0x1f, 0x8b])), open).damage).toBe('gzip stream ends early (compressed offset 2)');
  });

  it('stops at corrupt data with its compressed offsets, keeping what came before it', () => {
    const data = sample(2_000_000, 11);
    const broken = gzipSync(data);
    const at = Math.floor(broken.length * 0.5);
    broken.fill(0x55, at, at + 64);
    const out = inflateAll(write('corrupt.gz', broken), open);
    // Deflate has no check but the member's CRC at its end: damage may inflate to wrong bytes
    // before zlib sees it, never before the damage starts.
    const [, from, to] = /^gzip stream is corrupt in compressed bytes (\d+)\.\.(\d+) \(.+\)$/.exec(out.damage ?? '') ?? [];
    expect(Number(from)).toBeLessThan(Number(to));
    expect(Number(to)).toBeGreaterThanOrEqual(at);
    const intact = Math.floor(data.length * 0.4);
    expect(out.bytes.length).toBeGreaterThan(intact);
    expect(out.bytes.subarray(0, intact).equals(data.subarray(0, intact))).toBe(true);
  });
});

describe('zlib, in C', () => {
  it('writes nothing past the window it is given, on whole, cut, flipped and padded files (AddressSanitizer, UBSan)', () => {
    const source = join(repoRoot, 'recorder/import/native');
    const binary = join(dir, 'gunzip_check');
    const build = spawnSync('gcc', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-g', '-O1', '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
      `-I${source}`, `${source}/np_gunzip.c`, `${source}/test/gunzip_check.c`, '-lz', '-o', binary], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const run = spawnSync(binary, ['100', join(dir, 'gunzip_check.gz')], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('100 files inflated\n');
  }, 90_000);
});

describe.runIf(native)('zlib against pako', () => {
  it('hands out the same bytes and the same damage on cut and mutated streams', () => {
    const data = sample(500_000, 12);
    const whole = Buffer.concat([gzipSync(data), gzipSync(sample(70_000, 13))]);
    let seed = 99;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (let i = 0; i < 40; i++) {
      const bytes = Buffer.from(whole.subarray(0, i % 4 === 0 ? next() % whole.length : whole.length));
      for (let flips = 1 + (next() % 3); flips > 0; flips--) bytes[next() % bytes.length] ^= 1 << next() % 8;
      const file = write(`mutant-${i}.gz`, bytes);
      const [pako, zlib] = inflaters.map(([, open]) => inflateAll(file, open, [123_457]));
      // Both keep an exact prefix of what the intact stream holds, stop for a reason, and agree
      // where the damage is a cut (the corrupt range is the failing piece for pako, narrower for zlib).
      for (const out of [pako, zlib]) expect(out.damage === null || /^gzip stream (is corrupt in|ends early)/.test(out.damage)).toBe(true);
      expect(zlib.damage === null).toBe(pako.damage === null);
      if (zlib.damage?.startsWith('gzip stream ends early')) expect(zlib.damage).toBe(pako.damage);
      if (zlib.damage === null) expect(zlib.bytes.equals(pako.bytes)).toBe(true);
      else {
        const shorter = zlib.bytes.length <= pako.bytes.length ? zlib.bytes : pako.bytes;
        expect(shorter.equals((shorter === zlib.bytes ? pako.bytes : zlib.bytes).subarray(0, shorter.length))).toBe(true);
      }
    }
  });

  it('refuses a range outside the buffer rather than writing past it', () => {
    const file = write('range.gz', gzipSync(sample(1000)));
    const stream = zlibStream(openSync(file, 'r'))!;
    expect(() => stream.read(Buffer.alloc(10), 5, 6)).toThrow(RangeError);
    expect(() => stream.read(Buffer.alloc(10), -1, 2)).toThrow(RangeError);
    expect(stream.read(Buffer.alloc(10), 5, 5)).toBe(5);
    stream.close();
  });
});

it('a closed fd is not read again after close', () => {
  const fd = openSync(import.meta.filename, 'r');
  closeSync(fd);
  expect(() => new PakoStream(fd).read(Buffer.alloc(10), 0, 10)).toThrow();
});
