/**
 * Zeek-shaped uids ("C" + 17 base62) for a session's connections and IP tunnels, derived from the
 * session and the creation order, so they are the same on every run and in either tracker.
 */
import { createHash } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export class FlowUids {
  /** From the session id: the native tracker makes the same uids from it (np_flow_text.c). */
  readonly seed: number;
  /** IP tunnels (no connection of their own) by type and endpoints: the uid inner connections name. */
  private readonly tunnels = new Map<string, string>();
  private readonly codes: number[] = ['C'.charCodeAt(0), ...Array<number>(17).fill(0)];

  constructor(sessionId: string) {
    this.seed = createHash('sha1').update(sessionId).digest().readInt32BE(0);
  }

  /**
   * The uid of the session's `n`th connection. A keyed xorshift, not a cryptographic hash: uids
   * need to be distinct and stable, not secret, and this costs nothing next to a SHA-1 per flow.
   */
  uid(n: number): string {
    let x = (this.seed ^ Math.imul(n + 1, 0x9e3779b1)) | 0 || 1;
    let y = (Math.imul(this.seed, 0x85ebca6b) ^ n) | 0 || 1;
    // Built from character codes: appending 17 characters would leave a rope of 6 objects per
    // uid alive as long as its connection.
    const codes = this.codes;
    for (let i = 1; i <= 17; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      y = (Math.imul(y, 0x2545f491) + x) | 0;
      codes[i] = BASE62.charCodeAt(((y >>> 8) ^ (x >>> 3)) % 62);
    }
    return String.fromCharCode(...codes);
  }

  /**
   * The uid of an IP tunnel (IP in IP, GRE) between two addresses: Zeek names such a tunnel in
   * the inner connections' tunnel_parents without logging a connection for it.
   */
  tunnelUid(type: string, a: string, b: string): string {
    const key = a < b ? `${type} ${a} ${b}` : `${type} ${b} ${a}`;
    let uid = this.tunnels.get(key);
    if (uid === undefined) {
      uid = this.uid(0x40000000 + this.tunnels.size);
      this.tunnels.set(key, uid);
    }
    return uid;
  }
}
