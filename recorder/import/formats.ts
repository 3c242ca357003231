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

/** A capture netprov reads (a gzip file is taken to hold one). */
export const looksLikeCapture = (head: Buffer): boolean => isGzip(head) || isPcap(head) || isPcapng(head) || isEslogger(head);
