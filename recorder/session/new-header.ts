/**
 * The header of a session being made (a recording, an import, captures read straight away).
 * Apart from the writer: what reads captures needs a header, not msgpackr (msgpack.ts).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { FORMAT_NAME, FORMAT_VERSION, type SessionHeader } from './events.js';

/** A header for a new session: fills in what a producer rarely has an opinion on. */
export function newHeader(fields: Pick<SessionHeader, 'startNs' | 'sensor'> & Partial<SessionHeader>): SessionHeader {
  return {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    sessionId: randomUUID(),
    host: hostname(),
    clockNotes: '',
    ...fields,
  };
}
