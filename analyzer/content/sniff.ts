/**
 * What a packet's payload says about its connection's application, read in the decode worker:
 * Zeek's `service` names (from the first bytes of a message, and the well-known port where Zeek
 * too attaches its analyzer by port), the TLS server_name and ALPN of a ClientHello — over TCP,
 * also when the ClientHello spans several segments, and inside QUIC Initials — and HTTP/1's Host.
 * Connection tracking (track.ts) adds each sighting to the connection of its packet.
 */
import { QuicInitials } from './quic.js';
import { clientHelloFromRecords, isHandshakeRecord, latin1, type ClientHelloNames } from './tls.js';

/**
 * Which side a message shows: Zeek confirms most analyzers only once both sides have spoken their
 * protocol (a request with no reply is no HTTP connection), so a sighting says which side it is
 * evidence of. `self`: confirmed alone (a parsed DNS, NTP, DHCP or Kerberos message, a decrypted
 * QUIC Initial). `either`: the side is the packet's sender (SSH's banners look alike).
 */
export type Role = 'client' | 'server' | 'either' | 'self';

export interface ContentSighting {
  /** Zeek's analyzer names this message is evidence of (a "220 " greeting: smtp or ftp). */
  services: string[];
  role: Role;
  /**
   * A data connection this message announces (FTP's PASV/EPSV replies, PORT/EPRT commands): its
   * responder address (null: the sender's own, as EPSV says) and port. Zeek's ftp-data.
   */
  expect?: { addr: string | null; port: number };
  /** Only when the message carries them. */
  serverName?: string | null;
  alpn?: string[];
  httpHost?: string | null;
}

/** The packet a sighting came from, within its batch. */
export type ContentInBatch = ContentSighting & { packet: number };

/**
 * TCP segments joined per direction while a ClientHello is incomplete, at most HELLO_MAX bytes,
 * for at most PENDING_MAX directions at once (the oldest dropped): 16 MiB of the decode worker's
 * heap, however many ClientHellos a hostile capture leaves unfinished.
 */
const HELLO_MAX = 16384;
const PENDING_MAX = 1024;

/** A request line: any method token (QUERY, PROPFIND, ... as well as GET), a target, the version. */
const HTTP_REQUEST = /^[A-Z][A-Z_-]{2,19} [^\r\n]+ HTTP\/\d\.\d\r?\n/;

const text = (b: Uint8Array, at: number, end: number, max: number) => latin1(b, at, Math.min(end - at, max));

export interface Segment {
  protocol: number;
  srcPort: number;
  dstPort: number;
  /** TCP sequence number of the payload's first byte. */
  seq: number;
  /** The direction's key (addresses and ports), built only when a ClientHello is being joined. */
  key(): string;
}

export class ContentReader {
  private readonly quic = new QuicInitials();
  /** ClientHellos waiting for their next segment, by direction. */
  private readonly hellos = new Map<string, { bytes: Uint8Array[]; length: number; nextSeq: number }>();

  /** The payload `b[at, end)` of a TCP or UDP packet: a sighting, or null. */
  payload(b: Uint8Array, at: number, end: number, s: Segment): ContentSighting | null {
    if (end <= at) return null;
    return s.protocol === 6 ? this.tcp(b, at, end, s) : s.protocol === 17 ? this.udp(b, at, end, s) : null;
  }

  private tcp(b: Uint8Array, at: number, end: number, s: Segment): ContentSighting | null {
    const waiting = this.hellos.size ? this.hellos.get(s.key()) : undefined;
    if (waiting) return waiting.nextSeq === s.seq ? this.moreHello(waiting, b, at, end, s) : null;
    const handshake = isHandshakeRecord(b, at, end);
    if (handshake === 1) return this.hello([b.subarray(at, end)], end - at, s);
    if (handshake === 2) return { services: ['ssl'], role: 'server' };
    const first = b[at];
    // Any other ChangeCipherSpec, alert or handshake record answers for its sender too (a server
    // refusing a ClientHello). Application data does not: it would make a sighting of nearly
    // every packet of a TLS flow.
    if (first >= 0x14 && first <= 0x16 && end - at >= 5 && b[at + 1] === 3 && b[at + 2] <= 4) return { services: ['ssl'], role: 'either' };
    if (first === 0x53 && text(b, at, end, 4) === 'SSH-') return { services: ['ssh'], role: 'either' };
    if (isWord(b, at, end)) {
      const head = text(b, at, end, 2048);
      if (HTTP_REQUEST.test(head)) return { services: ['http'], role: 'client', httpHost: /\r?\nHost:[ \t]*([^\r\n]*)/i.exec(head)?.[1].trim().toLowerCase() ?? null };
      if (/^HTTP\/1\.[01] \d{3}/.test(head)) return { services: ['http'], role: 'server' };
      if (/^(EHLO|HELO) \S/i.test(head)) return { services: ['smtp'], role: 'client' };
      if (/^(USER|PASS) \S/.test(head)) return { services: ['ftp', 'pop3'], role: 'client' };
      if (/^(NICK|USER) \S+/.test(head) && (s.dstPort === 6667 || s.dstPort === 6666 || s.dstPort === 6668 || s.dstPort === 6669 || /^NICK /.test(head))) return { services: ['irc'], role: 'client' };
      if (/^(CAPA|STAT|APOP|STLS)\b/.test(head)) return { services: ['pop3'], role: 'client' };
      if (/^(SYST|FEAT|AUTH TLS|AUTH SSL)\b/.test(head)) return { services: ['ftp'], role: 'client' };
      const port = /^PORT (\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(head) ?? /^EPRT \|[12]\|([^|]+)\|(\d+)\|/.exec(head);
      if (port) return { services: ['ftp'], role: 'client', expect: announced(port) };
    }
    if (first === 0x32) {
      const line = text(b, at, end, 128);
      if (/^220[ -]/.test(line)) return { services: ['smtp', 'ftp'], role: 'server' };
      const passive = /^227 [^(\r\n]*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(line) ?? /^229 [^(\r\n]*\(\|\|\|(\d+)\|\)/.exec(line);
      if (passive) return { services: ['ftp'], role: 'server', expect: announced(passive) };
    }
    if (first === 0x2b && text(b, at, end, 3) === '+OK') return { services: ['pop3', 'redis'], role: 'server' };
    if (first === 0x2a && end - at > 4) {
      const head = text(b, at, end, 64);
      if (head.startsWith('* OK')) return { services: ['imap'], role: 'server' };
      if (/^\*[1-9]\d*\r\n\$\d+\r\n/.test(head)) return { services: ['redis'], role: 'client' };
    }
    if (first === 0x3a && /^:\S+ (\d{3}|NOTICE) /.test(text(b, at, end, 128))) return { services: ['irc'], role: 'server' };
    if (isTaggedCommand(b, at, end) && /^[A-Za-z0-9.]{1,20} (CAPABILITY|LOGIN|AUTHENTICATE|STARTTLS)\b/i.test(text(b, at, end, 64))) return { services: ['imap'], role: 'client' };
    if (end - at >= 5 && b[at + 3] === 0 && b[at + 4] === 10 && (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) === end - at - 4) return { services: ['mysql'], role: 'self' };
    if (first === 3 && b[at + 1] === 0 && end - at >= 11 && (b[at + 5] === 0xe0 || b[at + 5] === 0xd0)) return { services: ['rdp'], role: b[at + 5] === 0xe0 ? 'client' : 'server' };
    if ((s.srcPort === 88 || s.dstPort === 88) && end - at >= 5 && isKerberos(b[at + 4])) return { services: ['krb_tcp'], role: 'self' };
    return this.websocket(b, at, end, s);
  }

  /**
   * A WebSocket frame (RFC 6455) whose payload begins another protocol (wstunnel carrying SSH or
   * TLS): that protocol, read from the unmasked payload, as Zeek's WebSocket analyzer hands it on.
   */
  private websocket(b: Uint8Array, at: number, end: number, s: Segment): ContentSighting | null {
    if (end - at < 6 || (b[at] & 0x70) !== 0 || ((b[at] & 0x0f) !== 1 && (b[at] & 0x0f) !== 2)) return null;
    let length = b[at + 1] & 0x7f;
    let p = at + 2;
    if (length === 126) {
      length = (b[p] << 8) | b[p + 1];
      p += 2;
    } else if (length === 127) {
      return null;
    }
    const masked = (b[at + 1] & 0x80) !== 0;
    const key = masked ? b.subarray(p, p + 4) : null;
    if (masked) p += 4;
    if (p + 6 > end) return null;
    // The first bytes decide before anything is copied: 'SSH-', or a TLS handshake record header.
    const byte = (i: number) => (key ? b[p + i] ^ key[i & 3] : b[p + i]);
    const ssh = byte(0) === 0x53 && byte(1) === 0x53 && byte(2) === 0x48 && byte(3) === 0x2d;
    if (!ssh && !(byte(0) === 0x16 && byte(1) === 3)) return null;
    const inner = Buffer.from(b.subarray(p, Math.min(end, p + length)));
    if (key) for (let i = 0; i < inner.length; i++) inner[i] ^= key[i & 3];
    const sighting = ssh || isHandshakeRecord(inner, 0, inner.length) ? this.tcp(inner, 0, inner.length, { ...s, key: () => `ws|${s.key()}` }) : null;
    return sighting && { ...sighting, services: sighting.services.filter((name) => name === 'ssh' || name === 'ssl') };
  }

  private udp(b: Uint8Array, at: number, end: number, s: Segment): ContentSighting | null {
    const ports = (p: number) => s.srcPort === p || s.dstPort === p;
    if (ports(123) && end - at >= 48) {
      const version = (b[at] >> 3) & 7;
      const mode = b[at] & 7;
      if (version >= 1 && version <= 4 && mode >= 1 && mode <= 5) return { services: ['ntp'], role: 'self' };
    }
    if ((ports(67) || ports(68)) && end - at >= 240 && b[at + 236] === 0x63 && b[at + 237] === 0x82 && b[at + 238] === 0x53 && b[at + 239] === 0x63) return { services: ['dhcp'], role: 'self' };
    if (ports(88) && isKerberos(b[at])) return { services: ['krb'], role: 'self' };
    // NetBIOS name service: DNS's layout, which Zeek's DNS analyzer reads on port 137 (dns.ts parses only real DNS ports).
    if (ports(137) && end - at >= 12 && ((b[at + 4] << 8) | b[at + 5]) <= 1 && ((b[at + 6] << 8) | b[at + 7]) <= 1) return { services: ['dns'], role: 'self' };
    // A client Initial carries a ClientHello: Zeek's QUIC analyzer and its SSL analyzer both confirm.
    const initial = this.quic.datagram(b, at, end);
    return initial ? { services: ['quic', 'ssl'], role: 'self', ...names(initial) } : null;
  }

  private hello(bytes: Uint8Array[], length: number, s: Segment): ContentSighting | null {
    const joined = bytes.length === 1 ? bytes[0] : Buffer.concat(bytes, length);
    if (joined.length > 5 && joined[5] === 2) return { services: ['ssl'], role: 'server' }; // a ServerHello whose header came alone
    const result = clientHelloFromRecords(joined);
    if (result === 'incomplete' && length < HELLO_MAX) {
      if (this.hellos.size >= PENDING_MAX) this.hellos.delete(this.hellos.keys().next().value!);
      this.hellos.set(s.key(), { bytes: [Uint8Array.from(joined)], length, nextSeq: (s.seq + length) >>> 0 });
      return { services: ['ssl'], role: 'client' };
    }
    return result && result !== 'incomplete' ? { services: ['ssl'], role: 'client', ...names(result) } : { services: ['ssl'], role: 'client' };
  }

  private moreHello(waiting: { bytes: Uint8Array[]; length: number; nextSeq: number }, b: Uint8Array, at: number, end: number, s: Segment): ContentSighting | null {
    this.hellos.delete(s.key());
    const first = waiting.length;
    waiting.bytes.push(Uint8Array.from(b.subarray(at, end)));
    const key = s.key();
    const sighting = this.hello(waiting.bytes, first + end - at, { ...s, seq: (s.seq - first) >>> 0, key: () => key });
    return sighting && (sighting.serverName !== undefined || sighting.alpn) ? sighting : null;
  }
}

/** Four bytes of upper-case letters, '/' or space: how every text protocol here begins (random bytes: 1 in ~1,000). */
function isWord(b: Uint8Array, at: number, end: number): boolean {
  if (end - at < 4) return false;
  for (let i = at; i < at + 4; i++) {
    const c = b[i];
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x20 || c === 0x2f)) return false;
  }
  return true;
}

/** An IMAP tag — up to 20 letters, digits or dots — then a space and a letter, read without decoding. */
function isTaggedCommand(b: Uint8Array, at: number, end: number): boolean {
  let i = at;
  for (; i < end && i - at <= 20; i++) {
    const c = b[i];
    if (c === 0x20) break;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2e)) return false;
  }
  return i > at && i + 1 < end && b[i] === 0x20 && ((b[i + 1] | 0x20) >= 0x61 && (b[i + 1] | 0x20) <= 0x7a);
}

/** The address and port a PORT/PASV (six numbers), EPRT (address, port) or EPSV (port) names. */
function announced(m: RegExpExecArray): { addr: string | null; port: number } {
  const n = m.slice(1).filter((x) => x !== undefined);
  if (n.length === 6) return { addr: n.slice(0, 4).join('.'), port: Number(n[4]) * 256 + Number(n[5]) };
  if (n.length === 2) return { addr: n[0], port: Number(n[1]) };
  return { addr: null, port: Number(n[0]) };
}

/** Kerberos messages are ASN.1 applications 10-14, 30 (AS-REQ/REP, TGS-REQ/REP, AP-REQ, KRB-ERROR). */
const isKerberos = (tag: number) => (tag >= 0x6a && tag <= 0x6e) || tag === 0x7e;

function names(hello: ClientHelloNames): Pick<ContentSighting, 'serverName' | 'alpn'> {
  return { serverName: hello.serverName, alpn: hello.alpn };
}
