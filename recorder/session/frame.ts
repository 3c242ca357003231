/**
 * Framing: the file signature and the 32-byte frame header that wraps the header, every chunk
 * of events, and the trailer. Layout in SPEC.md ("Frames").
 */
import { crc32 } from 'node:zlib';

/** PNG-style: a high byte, a name, CR LF, ^Z, LF, so that text-mode mangling shows at once. */
export const FILE_SIGNATURE = Buffer.from([0x89, 0x4e, 0x50, 0x53, 0x0d, 0x0a, 0x1a, 0x0a]); // \x89NPS\r\n\x1a\n
export const FRAME_MAGIC = 0x4b43504e; // "NPCK" read as u32 LE
export const FRAME_HEADER_SIZE = 32;
/** The largest payload a frame may declare; writers flush long before this. */
export const MAX_PAYLOAD = 64 * 1024 * 1024;

export const FrameType = { header: 1, events: 2, trailer: 3 } as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

export interface FrameHeader {
  type: number;
  flags: number;
  /** Frames are numbered from 0 in file order: a gap shows a lost chunk. */
  sequence: number;
  payloadLength: number;
  eventCount: number;
  payloadCrc: number;
}

export function encodeFrame(type: FrameTypeCode, sequence: number, eventCount: number, payload: Uint8Array): Buffer {
  return Buffer.concat([encodeFrameHeader(type, sequence, eventCount, payload), payload]);
}

/**
 * The header of the frame carrying `payload`. The writer writes header and payload apart: a new
 * buffer for each 1 MiB frame made the kernel fault in its pages, a third of an import's time.
 */
export function encodeFrameHeader(type: FrameTypeCode, sequence: number, eventCount: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
  frame.writeUInt32LE(FRAME_MAGIC, 0);
  frame.writeUInt8(type, 4);
  frame.writeUInt8(0, 5); // flags: none defined in 1.0
  frame.writeUInt16LE(0, 6);
  frame.writeUInt32LE(sequence, 8);
  frame.writeUInt32LE(payload.length, 12);
  frame.writeUInt32LE(eventCount, 16);
  frame.writeUInt32LE(crc32(payload), 20);
  frame.writeUInt32LE(0, 24);
  frame.writeUInt32LE(crc32(frame.subarray(0, 28)), 28);
  return frame;
}

/** Why a frame header at some offset cannot be trusted. */
export type FrameHeaderProblem = 'bad magic' | 'header checksum mismatch' | 'payload length over the format limit';

export function decodeFrameHeader(bytes: Buffer): FrameHeader | FrameHeaderProblem {
  if (bytes.readUInt32LE(0) !== FRAME_MAGIC) return 'bad magic';
  if (crc32(bytes.subarray(0, 28)) !== bytes.readUInt32LE(28)) return 'header checksum mismatch';
  const header: FrameHeader = {
    type: bytes.readUInt8(4),
    flags: bytes.readUInt8(5),
    sequence: bytes.readUInt32LE(8),
    payloadLength: bytes.readUInt32LE(12),
    eventCount: bytes.readUInt32LE(16),
    payloadCrc: bytes.readUInt32LE(20),
  };
  return header.payloadLength > MAX_PAYLOAD ? 'payload length over the format limit' : header;
}

export const payloadIsIntact = (header: FrameHeader, payload: Uint8Array): boolean => crc32(payload) === header.payloadCrc;
