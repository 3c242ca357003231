/* See np_pcap_decode.h. Each rule below mirrors the TypeScript it names, for the plain case only. */
#include "np_pcap_decode.h"

#include <stdbool.h>

/* pcap.ts: a record longer than this is corruption. */
#define MAX_RECORD (256 * 1024)
/* pcapng.ts: a block longer than this is corruption. */
#define MAX_BLOCK (16 * 1024 * 1024)
/* Past this many ns from the session start the TypeScript path keeps an exact BIGINT time. */
#define MAX_PLAIN_T (INT64_C(1) << 52)
/* Seconds just past MAX_PLAIN_T, checked first so that the ns never overflow. */
#define MAX_PLAIN_SEC (INT64_C(4503600))
/* source.ts withinSessionClock(): the first second past what a session's clock holds (2554). */
#define MAX_CLOCK_SEC UINT64_C(18446744073)

static inline uint32_t be16(const uint8_t *b) { return ((uint32_t)b[0] << 8) | b[1]; }
static inline uint32_t be32(const uint8_t *b) { return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3]; }
static inline uint32_t le32(const uint8_t *b) { return b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24); }
static inline double mac48(const uint8_t *b) { return (double)be16(b) * 4294967296.0 + (double)be32(b + 2); }

/* A plain packet's fields (dissect/packet.ts's Dissected, the part decode.ts writes). */
struct plain {
  /* In: --verify-checksums. Out: its transport checksum, captured whole, is wrong. */
  bool verify, bad_checksum;
  /* Where the Ethernet header starts (its MACs), or -1; Direction.unknown/in/out as the link header says. */
  int64_t mac_at;
  int direction;
  int ip_version, protocol;
  size_t src_at, dst_at;
  int32_t ip_total_len, l4_len;
  int32_t src_port, dst_port, icmp_type, icmp_code, tcp_flags, window, udp_length;
  uint32_t seq, ack;
  size_t payload_at;
  int32_t payload_len;
};


/* checksum.ts sum(): RFC 1071's sum of the 16-bit words of b[at, end), an odd last byte as a word's high half. */
static uint64_t sum16(const uint8_t *b, size_t at, size_t end, uint64_t acc) {
  size_t i = at;
  for (; i + 1 < end; i += 2) acc += be16(b + i);
  if (i < end) acc += (uint32_t)b[i] << 8;
  return acc;
}

static uint64_t fold(uint64_t acc) {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >> 16);
  return acc;
}

/* checksum.ts verifyTransport(): false only for a checksum captured whole and wrong (UDP's 0 over IPv4: none). */
static bool transport_checksum_ok(const uint8_t *b, size_t at, size_t end, const struct plain *p) {
  if (p->l4_len < 0 || at + (size_t)p->l4_len > end) return true;
  if (p->protocol == 17 && p->ip_version == 4 && p->l4_len >= 8 && be16(b + at + 6) == 0) return true;
  uint64_t acc = sum16(b, at, at + (size_t)p->l4_len, 0);
  if (p->protocol != 1) {
    size_t address_len = p->ip_version == 4 ? 4 : 16;
    acc = sum16(b, p->src_at, p->src_at + address_len, acc);
    acc = sum16(b, p->dst_at, p->dst_at + address_len, acc);
    acc += (uint64_t)p->protocol + (uint64_t)p->l4_len;
  }
  return fold(acc) == 0xffff;
}

/* tunnels.ts teredo(): true where the TypeScript path would open a Teredo tunnel. */
static bool looks_like_teredo(const uint8_t *b, size_t at, size_t end, bool on_port) {
  size_t next = at;
  if (end >= next + 4 && b[next] == 0 && b[next + 1] == 1) next += 4 + b[next + 2] + b[next + 3] + 9;
  if (end >= next + 8 && b[next] == 0 && b[next + 1] == 0) next += 8;
  if (end < next + 40 || b[next] >> 4 != 6) return false;
  if (next + 40 + be16(b + next + 4) != end) return false;
  return on_port || be32(b + next + 8) == 0x20010000 || be32(b + next + 24) == 0x20010000;
}

/* tunnels.ts udpTunnel(): any datagram it might decapsulate is left to it. */
static bool may_carry_tunnel(const uint8_t *b, size_t end, const struct plain *p) {
  if (p->payload_len <= 0) return false;
  int32_t s = p->src_port, d = p->dst_port;
  if (d == 4789 || d == 6081 || d == 4754 || s == 2152 || d == 2152 || s == 5072 || d == 5072) return true;
  size_t payload_end = p->payload_at + (size_t)p->payload_len;
  if (payload_end > end) payload_end = end;
  return looks_like_teredo(b, p->payload_at, payload_end, s == 3544 || d == 3544);
}

/* packet.ts transport(), for TCP, UDP and ICMP; false for anything else or any problem. */
static bool transport(const uint8_t *b, size_t at, size_t end, struct plain *p) {
  switch (p->protocol) {
    case 6: {
      if (end < at + 20) return false;
      int32_t header_len = (b[at + 12] >> 4) * 4;
      if (header_len < 20) return false;
      p->src_port = (int32_t)be16(b + at);
      p->dst_port = (int32_t)be16(b + at + 2);
      p->seq = be32(b + at + 4);
      p->ack = be32(b + at + 8);
      p->tcp_flags = b[at + 13];
      p->window = (int32_t)be16(b + at + 14);
      p->payload_at = at + (size_t)header_len;
      p->payload_len = p->l4_len > header_len ? p->l4_len - header_len : 0;
      p->bad_checksum = p->verify && !transport_checksum_ok(b, at, end, p);
      return true;
    }
    case 17:
      if (end < at + 8) return false;
      p->src_port = (int32_t)be16(b + at);
      p->dst_port = (int32_t)be16(b + at + 2);
      p->udp_length = (int32_t)be16(b + at + 4);
      p->payload_at = at + 8;
      p->payload_len = p->l4_len > 8 ? p->l4_len - 8 : 0;
      /* A datagram whose checksum is wrong is not looked into for a tunnel. */
      p->bad_checksum = p->verify && !transport_checksum_ok(b, at, end, p);
      return p->bad_checksum || !may_carry_tunnel(b, end, p);
    case 1:
    case 58:
      if (end < at + 2) return false;
      p->icmp_type = b[at];
      p->icmp_code = b[at + 1];
      p->payload_at = at + 8;
      p->payload_len = p->l4_len > 8 ? p->l4_len - 8 : 0;
      p->bad_checksum = p->verify && !transport_checksum_ok(b, at, end, p);
      return true;
    default:
      return false;
  }
}

/* packet.ts ipv4(), unfragmented, no IP tunnel. */
static bool ipv4(const uint8_t *b, size_t at, size_t end, struct plain *p) {
  if (end < at + 20) return false;
  int32_t ihl = (b[at] & 0x0f) * 4;
  if (b[at] >> 4 != 4 || ihl < 20 || end < at + (size_t)ihl) return false;
  if (p->verify && fold(sum16(b, at, at + (size_t)ihl, 0)) != 0xffff) return false; /* dropped, with its reason */
  int32_t total = (int32_t)be16(b + at + 2);
  // TCP segmentation offload leaves 0 here: the captured length, as packet.ts takes it (not when checksums are verified).
  if (total == 0 && !p->verify) total = (int32_t)(end - at);
  if (be16(b + at + 6) & 0x3fff) return false; /* a fragment: reassembled by fragments.ts */
  if (total < ihl) return false;
  p->ip_version = 4;
  p->ip_total_len = total;
  p->protocol = b[at + 9];
  p->src_at = at + 12;
  p->dst_at = at + 16;
  p->l4_len = total - ihl;
  return transport(b, at + (size_t)ihl, end, p);
}

/* packet.ts ipv6(), with the transport header right after the fixed header. */
static bool ipv6(const uint8_t *b, size_t at, size_t end, struct plain *p) {
  if (end < at + 40 || b[at] >> 4 != 6) return false;
  int next = b[at + 6];
  if (next != 6 && next != 17 && next != 1 && next != 58) return false;
  int32_t payload_len = (int32_t)be16(b + at + 4);
  p->ip_version = 6;
  p->ip_total_len = payload_len + 40;
  p->protocol = next;
  p->src_at = at + 8;
  p->dst_at = at + 24;
  p->l4_len = payload_len;
  return transport(b, at + 40, end, p);
}

/* IP of the version its first nibble says (link.ts ETHERTYPE_IP_BY_VERSION). */
static bool ip_by_version(const uint8_t *b, size_t at, size_t end, struct plain *p) {
  if (end < at + 1) return false;
  return b[at] >> 4 == 4 ? ipv4(b, at, end, p) : b[at] >> 4 == 6 ? ipv6(b, at, end, p) : false;
}

/* link.ts etherPayload(): from an Ethernet type field at `type_at`, through at most two VLAN tags. */
static bool ether_payload(const uint8_t *b, size_t type_at, size_t end, struct plain *p) {
  for (int tags = 0;; tags++) {
    if (end < type_at + 2) return false;
    uint32_t type = be16(b + type_at);
    if (type == 0x0800) return ipv4(b, type_at + 2, end, p);
    if (type == 0x86dd) return ipv6(b, type_at + 2, end, p);
    if ((type != 0x8100 && type != 0x88a8 && type != 0x9100) || tags == 2 || end < type_at + 6) return false;
    type_at += 4;
  }
}

/* link.ts linkLayer() and linktype.ts directionFromLinkHeader(), for the link types read here. */
static bool link_layer(int link_type, const uint8_t *b, size_t start, size_t end, struct plain *p) {
  size_t length = end - start;
  switch (link_type) {
    case NP_LINK_ETHERNET:
      if (length < 14) return false;
      p->mac_at = (int64_t)start;
      return ether_payload(b, start + 12, end, p);
    case NP_LINK_LINUX_SLL:
      if (length < 16) return false;
      p->direction = b[start + 1] == 4 && b[start] == 0 ? 2 : 1;
      return ether_payload(b, start + 14, end, p);
    case NP_LINK_LINUX_SLL2: {
      if (length < 20) return false;
      p->direction = b[start + 10] == 4 ? 2 : 1;
      uint32_t type = be16(b + start);
      return type == 0x0800 ? ipv4(b, start + 20, end, p) : type == 0x86dd ? ipv6(b, start + 20, end, p) : false;
    }
    case NP_LINK_RAW:
    case NP_LINK_IPV4:
    case NP_LINK_IPV6:
      return ip_by_version(b, start, end, p);
    case NP_LINK_NULL:
    case NP_LINK_LOOP: {
      if (length < 4) return false;
      // DLT_NULL stores the address family in the capturing host's byte order; LOOP in network order.
      uint32_t le = le32(b + start), be = be32(b + start);
      uint32_t family = link_type == NP_LINK_LOOP ? be : le < 256 ? le : be;
      if (family == 2) return ipv4(b, start + 4, end, p);
      if (family == 24 || family == 28 || family == 30) return ipv6(b, start + 4, end, p);
      return false;
    }
    default:
      return false;
  }
}

/* decode.ts's visitor.packet, for a plain packet at row i. */
static void write_row(const struct np_columns *c, uint32_t i, const uint8_t *b, size_t start, size_t end, const struct plain *p) {
  bool tcp = p->protocol == 6;
  bool icmp = p->protocol == 1 || p->protocol == 58;
  c->direction[i] = (uint8_t)p->direction;
  c->cap_len[i] = (int32_t)(end - start);
  c->ip_version[i] = (uint8_t)p->ip_version;
  c->protocol[i] = (int16_t)p->protocol;
  c->src_port[i] = icmp ? p->icmp_type : p->src_port;
  c->dst_port[i] = icmp ? p->icmp_code : p->dst_port;
  c->tcp_flags[i] = (int16_t)(tcp ? p->tcp_flags : -1);
  c->seq[i] = tcp ? p->seq : 0;
  c->ack[i] = tcp ? p->ack : 0;
  c->ip_len[i] = p->ip_total_len;
  c->payload_len[i] = p->payload_len;
  c->process_no[i] = -1;
  c->problem_no[i] = -1;
  for (int w = 0; w < 4; w++) {
    bool used = p->ip_version == 6 || w == 0;
    c->src[w][i] = used ? be32(b + p->src_at + 4 * w) : 0;
    c->dst[w][i] = used ? be32(b + p->dst_at + 4 * w) : 0;
  }
  c->frag_offset[i] = 0;
  c->broken[i] = 0;
  c->bad_checksum[i] = p->bad_checksum;
  c->mac_src[i] = p->mac_at < 0 ? -1 : mac48(b + p->mac_at + 6);
  c->mac_dst[i] = p->mac_at < 0 ? -1 : mac48(b + p->mac_at);
  c->icmp_type[i] = (int16_t)p->icmp_type;
  c->icmp_code[i] = (int16_t)p->icmp_code;
  c->window[i] = p->window;
  c->l4_len[i] = p->l4_len;
  c->udp_length[i] = p->udp_length;
  size_t at = p->payload_at;
  c->app_head[i] = p->payload_len >= 3 && end >= at + 3 ? (int32_t)((b[at] << 16) | (b[at + 1] << 8) | b[at + 2]) : -1;
  c->fragment[i] = 0;
  c->datagram[i] = -1;
  bool content = (tcp || p->protocol == 17) && p->payload_len > 0;
  size_t payload_end = at + (size_t)p->payload_len;
  c->payload_at[i] = content ? (int32_t)at : -1;
  c->payload_end[i] = content ? (int32_t)(payload_end < end ? payload_end : end) : -1;
}

int np_pcap_reads_link_type(int link_type) {
  switch (link_type) {
    case NP_LINK_NULL:
    case NP_LINK_ETHERNET:
    case NP_LINK_RAW:
    case NP_LINK_LOOP:
    case NP_LINK_LINUX_SLL:
    case NP_LINK_IPV4:
    case NP_LINK_IPV6:
    case NP_LINK_LINUX_SLL2:
      return 1;
    default:
      return 0;
  }
}

/* One record's packet bytes [data, data + cap_len), where the next record starts, its own time, and the direction it says (0: none). */
struct record {
  size_t data, next;
  uint32_t cap_len, orig_len;
  int64_t sec, nsec;
  int direction;
};

static inline uint32_t u32(const struct np_pcap_format *f, const uint8_t *b) { return f->little_endian ? le32(b) : be32(b); }
static inline uint32_t u16(const struct np_pcap_format *f, const uint8_t *b) { return f->little_endian ? (uint32_t)(b[0] | (b[1] << 8)) : be16(b); }

/* pcap.ts readRecord(): the record at pos, whole in the window. */
static bool pcap_record(const struct np_pcap_format *f, const uint8_t *b, size_t pos, size_t end, struct record *r) {
  if (end - pos < 16) return false;
  const uint8_t *h = b + pos;
  uint32_t cap_len = u32(f, h + 8);
  if (cap_len > MAX_RECORD || end - pos - 16 < cap_len) return false;
  uint64_t ns_raw = f->nanos ? u32(f, h + 4) : (uint64_t)u32(f, h + 4) * 1000;
  r->sec = (int64_t)u32(f, h) + (int64_t)(ns_raw / 1000000000);
  r->nsec = (int64_t)(ns_raw % 1000000000);
  r->data = pos + 16;
  r->cap_len = cap_len;
  r->orig_len = u32(f, h + 12);
  r->next = r->data + cap_len;
  r->direction = 0;
  return true;
}

/*
 * pcapng.ts blocks() and enhancedPacket(): an enhanced packet block of the offered interface at
 * pos, whole in the window, with no option but epb_flags (others can name a process), whose time
 * a session's clock holds (source.ts withinSessionClock).
 */
static bool pcapng_record(const struct np_pcap_format *f, const uint8_t *b, size_t pos, size_t end, struct record *r) {
  if (end - pos < 32) return false;
  const uint8_t *h = b + pos;
  uint32_t length = u32(f, h + 4);
  if (u32(f, h) != NP_PCAPNG_ENHANCED_PACKET || length < 32 || length % 4 != 0 || length > MAX_BLOCK || end - pos < length) return false;
  if (u32(f, h + 8) != f->block_interface) return false;
  uint32_t body = length - 12;
  uint32_t cap_len = u32(f, h + 20);
  if (cap_len > body - 20) return false;
  /* options(): up to code 0 (opt_endofopt) or an option that overruns the block; the last epb_flags says the direction. */
  r->direction = 0;
  for (uint32_t at = 20 + ((cap_len + 3) & ~UINT32_C(3)); body - at >= 4;) {
    uint32_t code = u16(f, h + 8 + at), length = u16(f, h + 10 + at);
    if (code == 0 || length > body - at - 4) break;
    if (code != 2) return false;
    if (length >= 4) {
      uint32_t bits = u32(f, h + 12 + at) & 3;
      r->direction = bits == 1 || bits == 2 ? (int)bits : 0;
    }
    at += 4 + ((length + 3) & ~UINT32_C(3));
  }
  uint64_t units = ((uint64_t)u32(f, h + 12) << 32) | u32(f, h + 16);
  uint64_t per_second = f->nanos ? 1000000000 : 1000000;
  if (units / per_second >= MAX_CLOCK_SEC) return false;
  r->sec = (int64_t)(units / per_second);
  r->nsec = (int64_t)((units % per_second) * (1000000000 / per_second));
  r->data = pos + 28;
  r->cap_len = cap_len;
  r->orig_len = u32(f, h + 24);
  r->next = pos + length;
  return true;
}

void np_pcap_decode(const struct np_pcap_format *f, const struct np_columns *c, struct np_pcap_run *run) {
  const uint8_t *b = run->window;
  size_t pos = run->pos;
  uint32_t n = 0;
  uint32_t room = run->row >= c->capacity ? 0 : c->capacity - run->row;
  if (run->room < room) room = run->room;
  struct record r;
  while (n < room && (f->pcapng ? pcapng_record(f, b, pos, run->end, &r) : pcap_record(f, b, pos, run->end, &r))) {
    int64_t seconds = r.sec - f->start_sec;
    if (seconds > MAX_PLAIN_SEC || seconds < -MAX_PLAIN_SEC) break;
    int64_t t = seconds * 1000000000 + (r.nsec - f->start_nsec);
    if (t >= MAX_PLAIN_T || t <= -MAX_PLAIN_T || t >= f->until_t) break;
    struct plain p = {.verify = f->verify_checksums, .mac_at = -1, .icmp_type = -1, .icmp_code = -1};
    size_t end = r.data + r.cap_len;
    if (!link_layer(f->link_type, b, r.data, end, &p)) break;
    if (r.direction) p.direction = r.direction;
    uint32_t i = run->row + n;
    c->packet_no[i] = run->packet_no + (int32_t)n;
    c->t[i] = t;
    c->tf[i] = (double)t;
    c->interface_id[i] = f->interface_id;
    c->orig_len[i] = r.orig_len;
    write_row(c, i, b, r.data, end, &p);
    run->last_sec = r.sec;
    run->last_nsec = r.nsec;
    pos = r.next;
    n++;
  }
  run->packets = n;
  run->pos = pos;
}
