/**
 * What a capture file is, told from its first bytes. Apart from the readers that open them, so
 * that sorting a command's inputs loads no reader (nor msgpackr): ~40 ms of every command's
 * start-up, measured.
 */
import { FILE_SIGNATURE } from '../session/frame.js';
import { isEslogger } from './eslogger.js';

export { isEslogger };

/** Classic libpcap magic numbers, µs and ns timestamps (read in either byte order). */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** pcapng's Section Header Block type, the same in both byte orders. */
export const PCAPNG_SECTION = 0x0a0d0d0a;

export const isGzip = (head: Uint8Array): boolean => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

export function isPcap(head: Buffer): boolean {
  if (head.length < 4) return false;
  const magics = [PCAP_MAGIC_US, PCAP_MAGIC_NS];
  return magics.includes(head.readUInt32LE(0)) || magics.includes(head.readUInt32BE(0));
}

export const isPcapng = (head: Buffer): boolean => head.length >= 4 && head.readUInt32LE(0) === PCAPNG_SECTION;

/** A netprov session file (its signature; recorder/session/SPEC.md). */
export const isSession = (head: Uint8Array): boolean => head.length >= FILE_SIGNATURE.length && FILE_SIGNATURE.every((b, i) => head[i] === b);

/** Compressions by magic number, with the command that undoes each. netprov inflates gzip captures. */
const COMPRESSIONS: { name: string; magic: number[]; command: string }[] = [
  { name: 'gzip', magic: [0x1f, 0x8b], command: 'gunzip' },
  { name: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd], command: 'zstd -d' },
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], command: 'xz -d' },
  { name: 'bzip2', magic: [0x42, 0x5a, 0x68], command: 'bunzip2' },
  { name: 'lz4', magic: [0x04, 0x22, 0x4d, 0x18], command: 'lz4 -d' },
  { name: 'zip', magic: [0x50, 0x4b, 0x03, 0x04], command: 'unzip' },
  { name: '7-Zip', magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], command: '7z x' },
];

/** The compression a file's first bytes announce, or null. */
export function compressionOf(head: Uint8Array): { name: string; command: string } | null {
  const found = COMPRESSIONS.find(({ magic }) => head.length >= magic.length && magic.every((b, i) => head[i] === b));
  // bzip2's "BZh" is followed by its block size, '1' to '9': three letters alone could be text.
  if (!found || (found.name === 'bzip2' && !(head[3] >= 0x31 && head[3] <= 0x39))) return null;
  return found;
}

/**
 * What to tell the user of a capture compressed in a way netprov does not read (a .pcap.zst, a
 * .pcapng.xz): which compression, and how to undo it; null for anything else.
 */
export function compressionNotRead(head: Uint8Array): string | null {
  const found = compressionOf(head);
  if (!found || found.name === 'gzip') return null;
  return `${found.name}-compressed, and netprov inflates gzip only: decompress it first (${found.command})`;
}

/**
 * Why a file netprov cannot take as a capture is not one, where its content tells more than "not
 * a capture": a compression netprov does not inflate, or a netprov session — given to `import`,
 * or gzipped (sessions are read as they are: export --pcap and replay seek in them). Null for
 * anything else.
 */
export function notACapture(head: Uint8Array, gzipped: boolean): string | null {
  if (isSession(head)) {
    return gzipped
      ? 'a gzip-compressed netprov session, and netprov reads sessions uncompressed: gunzip it first'
      : 'a netprov session, not a capture: analyze, flows, inspect and replay take it as it is';
  }
  return compressionNotRead(head);
}

/** A capture netprov reads (a gzip file is taken to hold one). */
export const looksLikeCapture = (head: Buffer): boolean => isGzip(head) || isPcap(head) || isPcapng(head) || isEslogger(head);
