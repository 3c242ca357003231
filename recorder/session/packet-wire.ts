/**
 * A packet event's wire bytes written straight into a chunk: the same bytes msgpackr writes for
 * `toWire(packet)` (test/session/packet-wire.test.ts compares them), without msgpackr's generic
 * path and the buffers it allocates — ~0.4 s of 1.6 s of CPU per 400,000 imported packets,
 * measured. Packets are nearly every event a writer sees; every other event, and a packet with an
 * exact time past 2^53 ns or a process key, still goes through msgpackr.
 */
import { Kind, type PacketEvent, type SessionEvent } from './events.js';

/** The most bytes a packet takes beyond its data: the array's header, its kind, four numbers (a double each at most), the data's header. */
export const PACKET_WIRE_OVERHEAD = 1 + 1 + 4 * 9 + 5;

/** Writes `packet` at `at` (room for PACKET_WIRE_OVERHEAD + its data is the caller's); returns the end, or -1 when msgpackr must encode it. */
export function writePacketWire(packet: PacketEvent & SessionEvent, target: Buffer, at: number): number {
  if (packet.tExact !== undefined || packet.processKey !== null) return -1;
  const { data } = packet;
  at = writePacketHead(target, at, packet.t, packet.interfaceId, packet.direction, packet.origLen, data.length);
  target.set(data, at);
  return at + data.length;
}

/**
 * Writes a packet event's wire bytes up to its data, which the caller copies to the position
 * returned: for a packet whose bytes lie in a capture's window (pcap-to-session.ts). `t` is a
 * safe integer; the packet names no process.
 */
export function writePacketHead(target: Buffer, at: number, t: number, interfaceId: number, direction: number, origLen: number, length: number): number {
  target[at++] = 0x96; // fixarray of six: [kind, t, interfaceId, direction, origLen, data]
  at = writeNumber(Kind.packet, target, at);
  at = writeNumber(t, target, at);
  at = writeNumber(interfaceId, target, at);
  at = writeNumber(direction, target, at);
  at = writeNumber(origLen, target, at);
  if (length < 0x100) {
    target[at++] = 0xc4;
    target[at++] = length;
  } else if (length < 0x10000) {
    target[at++] = 0xc5;
    target[at++] = length >> 8;
    target[at++] = length & 0xff;
  } else {
    target[at++] = 0xc6;
    target.writeUInt32BE(length, at);
    at += 4;
  }
  return at;
}

/** A safe integer as msgpackr writes a number with records off: the shortest int, a double past 32 bits. */
function writeNumber(value: number, target: Buffer, at: number): number {
  if (value >>> 0 === value) {
    if (value < 0x80) target[at++] = value;
    else if (value < 0x100) {
      target[at++] = 0xcc;
      target[at++] = value;
    } else if (value < 0x10000) {
      target[at++] = 0xcd;
      target[at++] = value >> 8;
      target[at++] = value & 0xff;
    } else {
      target[at++] = 0xce;
      target.writeUInt32BE(value, at);
      at += 4;
    }
  } else if (value >> 0 === value) {
    if (value >= -0x20) target[at++] = 0x100 + value;
    else if (value >= -0x80) {
      target[at++] = 0xd0;
      target[at++] = value + 0x100;
    } else if (value >= -0x8000) {
      target[at++] = 0xd1;
      target.writeInt16BE(value, at);
      at += 2;
    } else {
      target[at++] = 0xd2;
      target.writeInt32BE(value, at);
      at += 4;
    }
  } else {
    target[at++] = 0xcb;
    target.writeDoubleBE(value, at);
    at += 8;
  }
  return at;
}
