/**
 * Zeek's `likely_server_ports`: the ports its base protocol scripts register as servers. When a
 * connection's first packet comes *from* one of these (and not to one), Zeek makes the other side
 * the originator. Collected from Zeek's base/protocols/* scripts; `tcp` and `udp` separately,
 * because 53/udp and 53/tcp are different entries there too.
 */
const tcp = [
  21, 22, 23, 25, 53, 80, 81, 88, 102, 110, 111, 135, 139, 143, 389, 443, 445, 502, 524, 563, 585, 587, 614, 631, 636, 989, 990,
  992, 993, 995, 1080, 1433, 1434, 1883, 2049, 2811, 3128, 3268, 3306, 3389, 5060, 5223, 5432, 6379, 6666, 6667, 6668, 6669,
  8000, 8080, 8888, 20000,
];
const udp = [
  53, 67, 69, 88, 111, 123, 137, 161, 162, 500, 514, 1812, 1813, 2049, 2123, 2152, 3478, 3544, 4500, 4789, 5060, 5072, 5353,
  5355, 6081, 20000,
];

const tcpSet = new Set(tcp);
const udpSet = new Set(udp);

export function isLikelyServerPort(protocol: number, port: number): boolean {
  if (protocol === 6) return tcpSet.has(port);
  if (protocol === 17) return udpSet.has(port);
  return false;
}
