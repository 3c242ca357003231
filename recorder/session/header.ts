/**
 * Header and trailer payloads: one msgpack map each, with the snake_case keys of SPEC.md. Maps,
 * not arrays, because each is read once and must stay readable by any msgpack tool.
 */
import { packr, unpackr } from './msgpack.js';
import { FORMAT_NAME, FORMAT_VERSION, type SessionHeader, type SessionTrailer } from './events.js';
import { InputError } from '../errors.js';

export function encodeHeader(header: SessionHeader): Buffer {
  return packr.pack({
    format: header.format,
    version: header.version,
    session_id: header.sessionId,
    host: header.host,
    sensor: header.sensor,
    start_ns: header.startNs, // a bigint: msgpack int64, exact
    clock_notes: header.clockNotes,
  });
}

/** Throws InputError (naming the file) for a header that is not ours or is too new. */
export function decodeHeader(payload: Buffer, file: string): SessionHeader {
  const map = unpackr.unpack(payload) as Record<string, any>;
  if (map?.format !== FORMAT_NAME) throw new InputError(`${file}: not a netprov session (header format is ${JSON.stringify(map?.format)})`);
  const [major, minor] = Array.isArray(map.version) ? map.version : [NaN, NaN];
  if (!Number.isInteger(major) || !Number.isInteger(minor)) throw new InputError(`${file}: header field version is not [major, minor]`);
  if (major > FORMAT_VERSION[0]) {
    throw new InputError(
      `${file}: session format version ${major}.${minor} is newer than this netprov reads (${FORMAT_VERSION.join('.')}); upgrade netprov`,
    );
  }
  const startNs = map.start_ns;
  if (typeof startNs !== 'bigint' && !Number.isSafeInteger(startNs)) throw new InputError(`${file}: header field start_ns is not an integer`);
  return {
    format: FORMAT_NAME,
    version: [major, minor],
    sessionId: String(map.session_id ?? ''),
    host: String(map.host ?? ''),
    sensor: { name: String(map.sensor?.name ?? ''), version: String(map.sensor?.version ?? '') },
    startNs: BigInt(startNs),
    clockNotes: String(map.clock_notes ?? ''),
  };
}

export function encodeTrailer(trailer: SessionTrailer): Buffer {
  return packr.pack({ end_t: trailer.endT, counts: trailer.counts, losses: trailer.losses, chunks: trailer.chunks });
}

export function decodeTrailer(payload: Buffer): SessionTrailer {
  const map = unpackr.unpack(payload) as Record<string, any>;
  return { endT: map.end_t, counts: map.counts ?? {}, losses: map.losses ?? 0, chunks: map.chunks ?? 0 };
}
