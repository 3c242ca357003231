/**
 * QUIC v1 (RFC 9001) and v2 (RFC 9369) client Initial packets, decrypted as Wireshark and Zeek
 * do: their keys derive from the Destination Connection ID alone, so the ClientHello inside —
 * server_name and ALPN — is readable by anyone on the path. A ClientHello larger than one packet
 * (post-quantum key shares make ~1,700 bytes) spans several Initials: their CRYPTO frames are
 * joined by offset, per connection ID, until the ClientHello is whole.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { clientHello, type ClientHelloNames } from './tls.js';

interface Version {
  salt: Buffer;
  /** Initial packets' long-header type bits. */
  initialType: number;
  labels: { key: string; iv: string; hp: string };
}

const VERSIONS = new Map<number, Version>([
  [0x00000001, { salt: Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'), initialType: 0, labels: { key: 'quic key', iv: 'quic iv', hp: 'quic hp' } }],
  [0x6b3343cf, { salt: Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex'), initialType: 1, labels: { key: 'quicv2 key', iv: 'quicv2 iv', hp: 'quicv2 hp' } }],
]);

/** A client's Initial must fill a datagram of at least 1,200 bytes (RFC 9000 §14.1). */
const MIN_CLIENT_DATAGRAM = 1200;
/** Connection IDs whose ClientHello is still being joined, at most (the oldest dropped): with CRYPTO_MAX, 16 MiB. */
const PENDING_MAX = 1024;
const CRYPTO_MAX = 16384;

/** HKDF-Expand-Label (RFC 8446 §7.1) with SHA-256, for outputs of one hash block at most. */
function expandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 255, full.length]), full, Buffer.from([0, 1])]);
  return createHmac('sha256', secret).update(info).digest().subarray(0, length);
}

function varint(b: Uint8Array, at: number, end: number): [number, number] | null {
  if (at >= end) return null;
  const size = 1 << (b[at] >> 6);
  if (at + size > end) return null;
  let value = b[at] & 0x3f;
  for (let i = 1; i < size; i++) value = value * 256 + b[at + i];
  return [value, at + size];
}

export interface QuicInitial extends ClientHelloNames {}

/** Client Initials seen so far, by their Destination Connection ID: the CRYPTO stream being joined. */
export class QuicInitials {
  private readonly pending = new Map<string, { pieces: Map<number, Uint8Array>; done: boolean }>();

  /**
   * A UDP payload: null unless it is (or completes) a client Initial whose ClientHello could be
   * read; its names then.
   */
  datagram(b: Uint8Array, at: number, end: number): QuicInitial | null {
    if (end - at < MIN_CLIENT_DATAGRAM || (b[at] & 0xc0) !== 0xc0) return null;
    // Coalesced packets: an Initial comes first when there is one.
    const version = VERSIONS.get(((b[at + 1] << 24) | (b[at + 2] << 16) | (b[at + 3] << 8) | b[at + 4]) >>> 0);
    if (!version || ((b[at] >> 4) & 3) !== version.initialType) return null;
    let p = at + 5;
    const dcidLength = b[p];
    if (dcidLength > 20 || p + 1 + dcidLength > end) return null;
    const dcid = Buffer.from(b.subarray(p + 1, p + 1 + dcidLength));
    p += 1 + dcidLength;
    if (p >= end || b[p] > 20) return null;
    p += 1 + b[p]; // source connection ID
    const token = varint(b, p, end);
    if (!token) return null;
    p = token[1] + token[0];
    const length = varint(b, p, end);
    if (!length || length[1] + length[0] > end || length[0] < 20) return null;
    const payload = this.decrypt(b, at, length[1], length[1] + length[0], dcid, version);
    return payload ? this.crypto(dcid.toString('hex'), payload) : null;
  }

  /** Removes header protection and decrypts one Initial: its frames, or null when it is not a client's. */
  private decrypt(b: Uint8Array, start: number, pnAt: number, end: number, dcid: Buffer, version: Version): Buffer | null {
    const initialSecret = createHmac('sha256', version.salt).update(dcid).digest();
    const secret = expandLabel(initialSecret, 'client in', 32);
    const key = expandLabel(secret, version.labels.key, 16);
    const iv = expandLabel(secret, version.labels.iv, 12);
    const hp = expandLabel(secret, version.labels.hp, 16);
    if (pnAt + 4 + 16 > end) return null;
    const mask = createCipheriv('aes-128-ecb', hp, null).update(b.subarray(pnAt + 4, pnAt + 20));
    const first = b[start] ^ (mask[0] & 0x0f);
    const pnLength = (first & 3) + 1;
    const header = Buffer.from(b.subarray(start, pnAt + pnLength));
    header[0] = first;
    let pn = 0;
    for (let i = 0; i < pnLength; i++) {
      header[pnAt - start + i] ^= mask[1 + i];
      pn = pn * 256 + header[pnAt - start + i];
    }
    const nonce = Buffer.from(iv);
    for (let i = 0; i < 4; i++) nonce[11 - i] ^= (pn / 256 ** i) & 255;
    const sealed = b.subarray(pnAt + pnLength, end);
    if (sealed.length < 16) return null;
    try {
      const decipher = createDecipheriv('aes-128-gcm', key, nonce);
      decipher.setAAD(header);
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
    } catch {
      return null; // a server's Initial, or not QUIC
    }
  }

  /** The CRYPTO frames of one decrypted Initial, added to its connection's; the ClientHello once whole. */
  private crypto(id: string, frames: Buffer): QuicInitial | null {
    let entry = this.pending.get(id);
    if (!entry) {
      if (this.pending.size >= PENDING_MAX) this.pending.delete(this.pending.keys().next().value!);
      this.pending.set(id, (entry = { pieces: new Map(), done: false }));
    }
    if (entry.done) return null;
    for (let at = 0; at < frames.length; ) {
      const type = frames[at];
      if (type === 0x00 || type === 0x01) {
        at++; // PADDING, PING
      } else if (type === 0x06) {
        const offset = varint(frames, at + 1, frames.length);
        const length = offset && varint(frames, offset[1], frames.length);
        if (!offset || !length || length[1] + length[0] > frames.length) return null;
        if (offset[0] + length[0] <= CRYPTO_MAX) entry.pieces.set(offset[0], frames.subarray(length[1], length[1] + length[0]));
        at = length[1] + length[0];
      } else if (type === 0x02 || type === 0x03) {
        at = skipAck(frames, at, type === 0x03);
        if (at < 0) break;
      } else {
        break; // anything else in a client Initial (CONNECTION_CLOSE): nothing more to read
      }
    }
    const stream = contiguous(entry.pieces);
    const hello = clientHello(stream);
    if (hello === 'incomplete') return null;
    entry.done = true;
    return hello;
  }
}

function skipAck(b: Uint8Array, at: number, ecn: boolean): number {
  let p = at + 1;
  const fields = (n: number) => {
    for (let i = 0; i < n; i++) {
      const v = varint(b, p, b.length);
      if (!v) return false;
      p = v[1];
    }
    return true;
  };
  if (!fields(2)) return -1; // largest, delay
  const ranges = varint(b, p, b.length);
  if (!ranges) return -1;
  p = ranges[1];
  if (!fields(1 + 2 * ranges[0]) || (ecn && !fields(3))) return -1;
  return p;
}

/** The CRYPTO stream from offset 0 as far as it runs without a gap. */
function contiguous(pieces: Map<number, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (let piece = pieces.get(0); piece; piece = pieces.get(offset)) {
    parts.push(piece);
    offset += piece.length;
    if (piece.length === 0) break;
  }
  return Buffer.concat(parts);
}
