/** Ethernet/IPv4 TCP and UDP frames for synthetic captures (tests and benchmarks). */

export const TCP = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;

const ipv4 = (address: string): number => address.split('.').reduce((n, part) => n * 256 + Number(part), 0);

function checksum16(buf: Buffer, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i += 2) sum += (buf[i] << 8) | (buf[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipFrame(src: number, dst: number, protocol: number, l4: Buffer): Buffer {
  const frame = Buffer.alloc(14 + 20 + l4.length);
  frame.write('020000000002020000000001', 0, 'hex');
  frame.writeUInt16BE(0x0800, 12);
  frame[14] = 0x45;
  frame.writeUInt16BE(20 + l4.length, 16);
  frame[22] = 64;
  frame[23] = protocol;
  frame.writeUInt32BE(src >>> 0, 26);
  frame.writeUInt32BE(dst >>> 0, 30);
  frame.writeUInt16BE(checksum16(frame, 14, 34), 24);
  l4.copy(frame, 34);
  return frame;
}

export interface TcpSegmentSpec {
  src: string | number;
  dst: string | number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload?: number | Buffer;
  window?: number;
}

export function tcpFrame(s: TcpSegmentSpec): Buffer {
  const payload = typeof s.payload === 'number' ? Buffer.alloc(s.payload, 0x61) : (s.payload ?? Buffer.alloc(0));
  const tcp = Buffer.alloc(20 + payload.length);
  tcp.writeUInt16BE(s.sport, 0);
  tcp.writeUInt16BE(s.dport, 2);
  tcp.writeUInt32BE(s.seq >>> 0, 4);
  tcp.writeUInt32BE(s.ack >>> 0, 8);
  tcp[12] = 5 << 4;
  tcp[13] = s.flags;
  tcp.writeUInt16BE(s.window ?? 65535, 14);
  payload.copy(tcp, 20);
  const addr = (a: string | number) => (typeof a === 'number' ? a : ipv4(a));
  return ipFrame(addr(s.src), addr(s.dst), 6, tcp);
}

export function udpFrame(src: string, dst: string, sport: number, dport: number, payload: Buffer): Buffer {
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  payload.copy(udp, 8);
  return ipFrame(ipv4(src), ipv4(dst), 17, udp);
}

/** A whole TCP conversation: handshake, `requestBytes` out, `responseBytes` back, FIN both ways. */
export function tcpConversation(client: string, server: string, sport: number, dport: number, requestBytes: number, responseBytes: number): Buffer[] {
  const c = { src: client, dst: server, sport, dport };
  const s = { src: server, dst: client, sport: dport, dport: sport };
  let cs = 1000;
  let ss = 9000;
  const out = [tcpFrame({ ...c, seq: cs, ack: 0, flags: TCP.SYN })];
  cs++;
  out.push(tcpFrame({ ...s, seq: ss, ack: cs, flags: TCP.SYN | TCP.ACK }));
  ss++;
  out.push(tcpFrame({ ...c, seq: cs, ack: ss, flags: TCP.ACK }));
  if (requestBytes) {
    out.push(tcpFrame({ ...c, seq: cs, ack: ss, flags: TCP.ACK | TCP.PSH, payload: requestBytes }));
    cs += requestBytes;
  }
  if (responseBytes) {
    out.push(tcpFrame({ ...s, seq: ss, ack: cs, flags: TCP.ACK | TCP.PSH, payload: responseBytes }));
    ss += responseBytes;
  }
  out.push(tcpFrame({ ...c, seq: cs, ack: ss, flags: TCP.FIN | TCP.ACK }));
  cs++;
  out.push(tcpFrame({ ...s, seq: ss, ack: cs, flags: TCP.FIN | TCP.ACK }));
  ss++;
  out.push(tcpFrame({ ...c, seq: cs, ack: ss, flags: TCP.ACK }));
  return out;
}
