/**
 * What a capture file is, told from its first bytes. Apart from the readers that open them, so
 * that sorting a command's inputs loads no reader (nor msgpackr): ~40 ms of every command's
 * start-up, measured.
 */
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

/** Compressions netprov does not inflate (gzip it does), by magic number, with the command that does. */
const NOT_INFLATED: { name: string; magic: number[]; command: string }[] = [
  { name: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd], command: 'zstd -d' },
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], command: 'xz -d' },
  { name: 'bzip2', magic: [0x42, 0x5a, 0x68], command: 'bunzip2' },
  { name: 'lz4', magic: [0x04, 0x22, 0x4d, 0x18], command: 'lz4 -d' },
  { name: 'zip', magic: [0x50, 0x4b, 0x03, 0x04], command: 'unzip' },
  { name: '7-Zip', magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], command: '7z x' },
];

/**
 * What to tell the user of a file compressed in a way netprov does not read (a .pcap.zst, a
 * .pcapng.xz): which compression, and how to undo it; null for anything else.
 */
export function compressionNotRead(head: Uint8Array): string | null {
  const found = NOT_INFLATED.find(({ magic }) => head.length >= magic.length && magic.every((b, i) => head[i] === b));
  // bzip2's "BZh" is followed by its block size, '1' to '9': three letters alone could be text.
  if (!found || (found.name === 'bzip2' && !(head[3] >= 0x31 && head[3] <= 0x39))) return null;
  return `${found.name}-compressed, and netprov inflates gzip only: decompress it first (${found.command})`;
}

/** A capture netprov reads (a gzip file is taken to hold one). */
export const looksLikeCapture = (head: Buffer): boolean => isGzip(head) || isPcap(head) || isPcapng(head) || isEslogger(head);
