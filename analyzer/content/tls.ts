/**
 * The TLS ClientHello's clear-text names: server_name (RFC 6066) and the ALPN protocols the client
 * offers (RFC 7301). The same parser reads the handshake from TLS records over TCP and from QUIC's
 * CRYPTO frames (quic.ts), which carry the handshake without records.
 */

export interface ClientHelloNames {
  serverName: string | null;
  /** Offered, in the client's order; empty when the extension is absent. */
  alpn: string[];
}

/** Handshake messages: what a ClientHello parse needs to know about a buffer that may be incomplete. */
export type HandshakeResult = ClientHelloNames | 'incomplete' | null;

const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const u24 = (b: Uint8Array, at: number) => (b[at] << 16) | (b[at + 1] << 8) | b[at + 2];
/** `n` bytes from `at` as text, one character per byte. */
export const latin1 = (b: Uint8Array, at: number, n: number) => Buffer.from(b.buffer, b.byteOffset + at, n).toString('latin1');

/**
 * A ClientHello handshake message at `b[0]` (type 1, 24-bit length, body): its names; 'incomplete'
 * while the message runs past `b`; null when it is no ClientHello.
 */
export function clientHello(b: Uint8Array): HandshakeResult {
  if (b.length < 4) return 'incomplete';
  if (b[0] !== 1) return null;
  const end = 4 + u24(b, 1);
  if (end > b.length) return 'incomplete';
  let at = 4 + 2 + 32; // client_version, random
  if (at + 1 > end) return null;
  at += 1 + b[at]; // session_id
  if (at + 2 > end) return null;
  at += 2 + u16(b, at); // cipher_suites
  if (at + 1 > end) return null;
  at += 1 + b[at]; // compression_methods
  const names: ClientHelloNames = { serverName: null, alpn: [] };
  if (at + 2 > end) return at <= end ? names : null; // no extensions
  const extensionsEnd = Math.min(end, at + 2 + u16(b, at));
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = u16(b, at);
    const length = u16(b, at + 2);
    const data = at + 4;
    if (data + length > extensionsEnd) break;
    if (type === 0) names.serverName = serverName(b, data, data + length);
    else if (type === 16) names.alpn = protocols(b, data, data + length);
    at = data + length;
  }
  return names;
}

/** server_name: a list of (type, name); the first host_name (type 0). */
function serverName(b: Uint8Array, at: number, end: number): string | null {
  if (at + 2 > end) return null;
  const listEnd = Math.min(end, at + 2 + u16(b, at));
  for (let i = at + 2; i + 3 <= listEnd; ) {
    const n = u16(b, i + 1);
    if (i + 3 + n > listEnd) return null;
    if (b[i] === 0) return latin1(b, i + 3, n).toLowerCase();
    i += 3 + n;
  }
  return null;
}

function protocols(b: Uint8Array, at: number, end: number): string[] {
  if (at + 2 > end) return [];
  const listEnd = Math.min(end, at + 2 + u16(b, at));
  const list: string[] = [];
  for (let i = at + 2; i < listEnd && i + 1 + b[i] <= listEnd; i += 1 + b[i]) list.push(latin1(b, i + 1, b[i]));
  return list;
}

/**
 * The first bytes of a TLS record carrying a handshake: a ClientHello (1) or ServerHello (2)
 * follows; 1 too for a record header alone (a segment cut after it), which the ClientHello parse decides.
 */
export function isHandshakeRecord(b: Uint8Array, at: number, end: number): 1 | 2 | 0 {
  if (end - at < 5 || b[at] !== 0x16 || b[at + 1] !== 3 || b[at + 2] > 4) return 0;
  if (end - at === 5) return 1;
  return b[at + 5] === 1 ? 1 : b[at + 5] === 2 ? 2 : 0;
}

/**
 * The handshake carried by the TLS records at the start of `stream` (one direction of a TCP
 * connection, from its first payload byte): the records' fragments joined, then read as a ClientHello.
 */
export function clientHelloFromRecords(stream: Uint8Array): HandshakeResult {
  const fragments: Uint8Array[] = [];
  for (let at = 0; at + 5 <= stream.length && stream[at] === 0x16 && stream[at + 1] === 3; ) {
    const end = at + 5 + u16(stream, at + 3);
    fragments.push(stream.subarray(at + 5, Math.min(stream.length, end)));
    if (end > stream.length) break; // the record goes on in a later segment
    const result = clientHello(Buffer.concat(fragments));
    if (result !== 'incomplete') return result;
    at = end;
  }
  return fragments.length ? clientHello(Buffer.concat(fragments)) : null;
}
