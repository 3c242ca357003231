/**
 * Data connections FTP announced (PORT, PASV and their extended forms) and not yet seen, as
 * Zeek's expected connections: a new connection to an announced responder address and port
 * within five minutes is ftp-data.
 */
const EXPECT_FOR = 300e9;

export class ExpectedConnections {
  /** When each "responder address|port" was announced. */
  private readonly announced = new Map<string, number>();

  get size(): number {
    return this.announced.size;
  }

  announce(respAddr: string, respPort: number, t: number): void {
    this.announced.set(`${respAddr}|${respPort}`, t);
  }

  /** Whether a connection created at `t` towards this responder was announced (each announcement is taken once). */
  take(respAddr: string, respPort: number, t: number): boolean {
    const key = `${respAddr}|${respPort}`;
    const announcedAt = this.announced.get(key);
    if (announcedAt === undefined) return false;
    this.announced.delete(key);
    for (const [other, at] of this.announced) if (t - at > EXPECT_FOR) this.announced.delete(other);
    return t - announcedAt <= EXPECT_FOR;
  }
}
