/**
 * The ports Zeek attaches each analyzer to without waiting for content (its scripts'
 * `Analyzer::register_for_ports`): on those, one side's message is enough for Zeek to confirm the
 * protocol; elsewhere its signatures need both sides' (a request and its reply).
 */
const REGISTERED: Record<string, number[]> = {
  http: [80, 81, 631, 1080, 3128, 8000, 8080, 8888],
  ssl: [443, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223],
  ssh: [22],
  smtp: [25, 587],
  ftp: [21, 2811],
  pop3: [110],
  imap: [143],
  irc: [6666, 6667, 6668, 6669],
  redis: [6379],
  rdp: [3389],
};

const byService = new Map(Object.entries(REGISTERED).map(([name, ports]) => [name, new Set(ports)]));

/** Is `port` (the responder's) one Zeek attaches `service`'s analyzer to by port? */
export function isRegisteredPort(service: string, port: number): boolean {
  return byService.get(service)?.has(port) ?? false;
}
