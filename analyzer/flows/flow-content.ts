/**
 * What a connection's payloads and tunnels said of it, beyond what connection tracking counts:
 * Zeek's service, the names a client gave, the tunnels its packets came out of. Filled in packet
 * order by analyzer/load/track.ts (or track-native.ts, beside the connections tracked in C).
 */
import { isRegisteredPort } from '../content/ports.js';
import type { ContentSighting } from '../content/sniff.js';

export class FlowContent {
  /** Zeek's service: the application analyzers its content confirmed, in the order they did. */
  services: string[] = [];
  /** From the first ClientHello (TLS over TCP, or QUIC) and the first HTTP/1 request that named them. */
  serverName: string | null = null;
  alpn: string[] | null = null;
  httpHost: string | null = null;
  /** Uids of the tunnels this connection's packets came out of (Zeek's tunnel_parents), or null. */
  tunnelParents: Set<string> | null = null;
  /** Per service not yet confirmed: which sides have shown it (1 client, 2 server). */
  private evidence: Map<string, number> | null = null;

  addService(name: string): void {
    if (!this.services.includes(name)) this.services.push(name);
  }

  /** A message of `name` from one side (`side` 1 client, 2 server): confirmed once both have spoken it. */
  addEvidence(name: string, side: 1 | 2): void {
    if (this.services.includes(name)) return;
    const seen = ((this.evidence ??= new Map()).get(name) ?? 0) | side;
    if (seen === 3) {
      this.evidence.delete(name);
      this.addService(name);
    } else {
      this.evidence.set(name, seen);
    }
  }

  addTunnelParent(uid: string): void {
    (this.tunnelParents ??= new Set()).add(uid);
  }

  /** What a payload said: evidence of services (`respPort`, the responder's port as the roles stand), and the first names given. */
  note(seen: ContentSighting, isOrig: boolean, respPort: number): void {
    for (const name of seen.services) {
      if (seen.role === 'self' || isRegisteredPort(name, respPort)) this.addService(name);
      else this.addEvidence(name, seen.role === 'client' || (seen.role === 'either' && isOrig) ? 1 : 2);
    }
    if (seen.serverName && this.serverName === null) this.serverName = seen.serverName;
    if (seen.alpn?.length && this.alpn === null) this.alpn = seen.alpn;
    if (seen.httpHost && this.httpHost === null) this.httpHost = seen.httpHost;
  }
}
