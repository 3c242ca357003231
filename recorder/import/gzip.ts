/**
 * gzip inputs, inflated as they are read into the cursor's window (cursor.ts): one member or
 * several (as `cat a.gz b.gz` makes), zero padding after the last ignored, as gzip ignores it.
 * Data that breaks part-way ends the stream with `damage` naming the compressed bytes; what was
 * inflated before the damage is kept.
 *
 * Two inflaters, the same bytes out: zlib in C (native/np_gunzip.c), built by npm install where a
 * C compiler exists, and pako in JavaScript otherwise (Node's own zlib inflates synchronously
 * only whole buffers). Measured on a 294 MB pcap and on 177 MB of mixed files: zlib 0.50 / 0.57 s,
 * pako 1.30 / 2.13 s.
 */
import { closeSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Pako from 'pako';
import { optionalAddon } from '../project.js';
import type { ByteStream } from './cursor.js';

interface NativeGunzip {
  read(into: Buffer, at: number, want: number): number;
  readonly damage: string | null;
  readonly fileBytesRead: number;
  close(): void;
}

/** Loaded by the first gzip input rather than by every reader of captures. */
const nativeGunzip = (() => {
  let loaded: { Gunzip: new (fd: number) => NativeGunzip } | null | undefined;
  return () => (loaded === undefined ? (loaded = optionalAddon('recorder/import/native/build/Release/netprov_gunzip.node')) : loaded);
})();

/** The gzip data of `fd`, which the stream then owns: inflated in C when the addon was built. */
export function gzipStream(fd: number): ByteStream {
  return zlibStream(fd) ?? new PakoStream(fd);
}

/** zlib in C, inflating straight into the window; null where the addon was not built. */
export function zlibStream(fd: number): ByteStream | null {
  const addon = nativeGunzip();
  if (!addon) return null;
  const gunzip = new addon.Gunzip(fd);
  return {
    read: (into, at, want) => gunzip.read(into, at, want),
    get damage() {
      return gunzip.damage;
    },
    get fileBytesRead() {
      return gunzip.fileBytesRead;
    },
    close() {
      gunzip.close();
      closeSync(fd);
    },
  };
}

/**
 * pako, loaded by the first gzip input rather than by every reader of captures: its one 200 KB
 * module was ~10 ms of the decoding thread's start-up. (Its CommonJS build: the same code, and
 * loadable without waiting.)
 */
const pako = (() => {
  let loaded: typeof Pako | null = null;
  return () => (loaded ??= createRequire(import.meta.url)('pako') as typeof Pako);
})();

/**
 * Compressed bytes per inflate step. Deflate expands at most ~1,032:1, so one step never makes
 * more than ~17 MB however compressible the input (a zero bomb included).
 */
const COMPRESSED_PIECE = 16 * 1024;
const OUTPUT_CHUNK = 4 << 20;

type PakoInflate = InstanceType<typeof Pako.Inflate> & { ended: boolean; strm: { output: Uint8Array | null; next_out: number; avail_in: number } };

/** pako, in JavaScript: inflates a piece at a time into chunks, which reads copy out. */
export class PakoStream implements ByteStream {
  damage: string | null = null;
  private inflate = this.newMember();
  private readonly inflated: Uint8Array[] = [];
  private head = 0;
  private compressedAt = 0;
  private ended = false;
  /** The last member has ended and only zeros may follow. */
  private padding = false;
  private readonly piece = Buffer.allocUnsafe(COMPRESSED_PIECE);

  constructor(private readonly fd: number) {}

  get fileBytesRead(): number {
    return this.compressedAt;
  }

  read(into: Buffer, at: number, want: number): number {
    while (this.inflated.length === 0 && !this.ended) this.inflateMore();
    let got = 0;
    while (got < want && this.inflated.length > 0) {
      const chunk = this.inflated[0];
      const n = Math.min(want - got, chunk.length - this.head);
      into.set(chunk.subarray(this.head, this.head + n), at + got);
      got += n;
      this.head += n;
      if (this.head === chunk.length) {
        this.inflated.shift();
        this.head = 0;
      }
    }
    return got;
  }

  close(): void {
    closeSync(this.fd);
  }

  private newMember(): PakoInflate {
    const inflate = new (pako().Inflate)({ chunkSize: OUTPUT_CHUNK }) as PakoInflate;
    inflate.onData = (chunk: Uint8Array) => this.inflated.push(chunk);
    return inflate;
  }

  private inflateMore(): void {
    const n = readSync(this.fd, this.piece, 0, COMPRESSED_PIECE, this.compressedAt);
    const at = this.compressedAt;
    this.compressedAt += n;
    if (n === 0) {
      this.ended = true;
      if (!this.padding && !this.inflate.ended) this.damage = `gzip stream ends early (compressed offset ${at})`;
      return;
    }
    let bytes = this.piece.subarray(0, n);
    if (this.inflate.ended && !this.padding) {
      // A member ended with the last piece: another starts here, or the padding does.
      if (bytes[0] === 0) this.padding = true;
      else this.inflate = this.newMember();
    }
    if (!this.padding) {
      // A sync flush hands out everything inflated so far: damage later loses nothing before it.
      const ok = this.inflate.push(bytes, pako().constants.Z_SYNC_FLUSH);
      if (!ok || this.inflate.err) {
        this.ended = true;
        // pako drops the output of the step that failed: keep what was inflated before the damage.
        const strm = this.inflate.strm;
        if (strm.output && strm.next_out > 0) this.inflated.push(strm.output.slice(0, strm.next_out));
        this.damage = `gzip stream is corrupt in compressed bytes ${at}..${at + n} (${this.inflate.msg || `zlib error ${this.inflate.err}`})`;
        return;
      }
      // pako stops a member short of a zero byte (it takes the next member itself): the padding.
      if (!this.inflate.ended || this.inflate.strm.avail_in === 0) return;
      this.padding = true;
      bytes = bytes.subarray(n - this.inflate.strm.avail_in);
    }
    const nonZero = bytes.findIndex((b) => b !== 0);
    if (nonZero < 0) return;
    this.ended = true;
    const offset = at + (n - bytes.length) + nonZero;
    this.damage = `gzip stream is corrupt in compressed bytes ${offset}..${offset + 1} (data after the zero padding that ends it)`;
  }
}
