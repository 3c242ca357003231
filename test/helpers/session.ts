import { isoNs } from '../../recorder/inspect.js';
import type { PacketEvent, SessionEvent, SessionHeader } from '../../recorder/session/events.js';
import { SessionReader } from '../../recorder/session/reader.js';

export function readSession(path: string): { header: SessionHeader; events: SessionEvent[]; reader: SessionReader } {
  const reader = SessionReader.open(path);
  const events = [...reader.events()];
  return { header: reader.header, events, reader };
}

export const packetsOf = (events: SessionEvent[]): PacketEvent[] => events.filter((e): e is PacketEvent => e.kind === 'packet');

/** A packet's absolute time as tshark prints frame.time_epoch: "seconds.nnnnnnnnn". */
export function epochOf(header: SessionHeader, t: number): string {
  const ns = header.startNs + BigInt(t);
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

export { isoNs };
