/* A retired connection's text fields (np_flow_text.h). */
#include "np_flow_text.h"

#include <string.h>

/* Hand-written, not sprintf: its format parsing was most of the time per flow. */
static size_t decimal(unsigned v, char *out) {
  char digits[10];
  size_t n = 0;
  do digits[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  for (size_t i = 0; i < n; i++) out[i] = digits[n - 1 - i];
  return n;
}

static const char hex_digits[] = "0123456789abcdef";

/* Lowercase hex without leading zeros. */
static size_t hex(unsigned v, char *out) {
  char digits[8];
  size_t n = 0;
  do digits[n++] = hex_digits[v & 15];
  while ((v >>= 4) != 0);
  for (size_t i = 0; i < n; i++) out[i] = digits[n - 1 - i];
  return n;
}

/* uids.ts uid(): a keyed xorshift over the creation order, in int32 arithmetic as JavaScript's. */
static size_t uid_text(int32_t seed, int32_t n, char *out) {
  static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  uint32_t x = (uint32_t)seed ^ ((uint32_t)n + 1) * 0x9e3779b1u;
  if (!x) x = 1;
  uint32_t y = ((uint32_t)seed * 0x85ebca6bu) ^ (uint32_t)n;
  if (!y) y = 1;
  out[0] = 'C';
  for (int i = 1; i <= 17; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    y = y * 0x2545f491u + x;
    out[i] = base62[((y >> 8) ^ (x >> 3)) % 62];
  }
  return 18;
}

static void address_bytes(int ip_version, const uint32_t *words, uint8_t *bytes) {
  for (int w = 0; w < (ip_version == 4 ? 1 : 4); w++) {
    bytes[4 * w] = (uint8_t)(words[w] >> 24);
    bytes[4 * w + 1] = (uint8_t)(words[w] >> 16);
    bytes[4 * w + 2] = (uint8_t)(words[w] >> 8);
    bytes[4 * w + 3] = (uint8_t)words[w];
  }
}

/* dissect/packet.ts formatAddress: dotted IPv4; IPv6 with its longest run of two or more zero groups (the first such) as "::". */
static size_t address_text(int ip_version, const uint32_t *words, char *out) {
  uint8_t b[16];
  address_bytes(ip_version, words, b);
  if (ip_version == 4) {
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
      if (i) out[n++] = '.';
      n += decimal(b[i], out + n);
    }
    return n;
  }
  unsigned groups[8];
  for (int i = 0; i < 8; i++) groups[i] = (unsigned)(b[2 * i] << 8 | b[2 * i + 1]);
  int best_start = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (groups[i]) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && !groups[j]) j++;
    if (j - i > best_len) best_start = i, best_len = j - i;
    i = j;
  }
  size_t n = 0;
  for (int i = 0; i < 8; i++) {
    if (i == best_start) {
      out[n++] = ':';
      out[n++] = ':';
      i += best_len - 1;
      continue;
    }
    if (n > 0 && out[n - 1] != ':') out[n++] = ':';
    n += hex(groups[i], out + n);
  }
  return n;
}

/* ---- SHA-1 (FIPS 180-4), for the Community ID's one short message per flow ---- */

static uint32_t rotl(uint32_t v, int n) { return v << n | v >> (32 - n); }

static void sha1(const uint8_t *message, size_t length, uint8_t digest[20]) {
  uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  uint8_t block[128] = {0};
  size_t blocks = (length + 8) / 64 + 1; /* the message, a 1 bit, zeros, its length in bits: at most two blocks here */
  memcpy(block, message, length);
  block[length] = 0x80;
  uint64_t bits = (uint64_t)length * 8;
  for (int i = 0; i < 8; i++) block[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
  for (size_t k = 0; k < blocks; k++) {
    uint32_t w[16];
    for (int i = 0; i < 16; i++) {
      const uint8_t *p = block + 64 * k + 4 * i;
      w[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    /*
     * The message schedule kept as its last 16 words and extended as the rounds go, and the four
     * rounds in four loops: an 80-word schedule made first was vectorised by the compiler into
     * stalls on its own stores (0.56 -> 0.2 µs a flow, measured).
     */
#define NP_SHA1_ROUND(f, k_i, i)                                                                          \
  do {                                                                                                    \
    if ((i) >= 16) w[(i) & 15] = rotl(w[((i) - 3) & 15] ^ w[((i) - 8) & 15] ^ w[((i) - 14) & 15] ^ w[(i) & 15], 1); \
    uint32_t t = rotl(a, 5) + (f) + e + (k_i) + w[(i) & 15];                                              \
    e = d, d = c, c = rotl(b, 30), b = a, a = t;                                                          \
  } while (0)
    for (int i = 0; i < 20; i++) NP_SHA1_ROUND((b & c) | (~b & d), 0x5a827999u, i);
    for (int i = 20; i < 40; i++) NP_SHA1_ROUND(b ^ c ^ d, 0x6ed9eba1u, i);
    for (int i = 40; i < 60; i++) NP_SHA1_ROUND((b & c) | (b & d) | (c & d), 0x8f1bbcdcu, i);
    for (int i = 60; i < 80; i++) NP_SHA1_ROUND(b ^ c ^ d, 0xca62c1d6u, i);
#undef NP_SHA1_ROUND
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  for (int i = 0; i < 5; i++) {
    digest[4 * i] = (uint8_t)(h[i] >> 24);
    digest[4 * i + 1] = (uint8_t)(h[i] >> 16);
    digest[4 * i + 2] = (uint8_t)(h[i] >> 8);
    digest[4 * i + 3] = (uint8_t)h[i];
  }
}

static size_t base64(const uint8_t *bytes, size_t length, char *out) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = 0;
  for (size_t i = 0; i < length; i += 3) {
    uint32_t v = (uint32_t)bytes[i] << 16 | (i + 1 < length ? (uint32_t)bytes[i + 1] << 8 : 0) | (i + 2 < length ? bytes[i + 2] : 0);
    out[n++] = alphabet[v >> 18 & 63];
    out[n++] = alphabet[v >> 12 & 63];
    out[n++] = i + 1 < length ? alphabet[v >> 6 & 63] : '=';
    out[n++] = i + 2 < length ? alphabet[v & 63] : '=';
  }
  return n;
}

/* community-id.ts communityId with seed 0: ICMP types mapped to their counterparts, the lower endpoint first. */
static size_t community_id(const struct np_flow_record *f, char *out) {
  static const int v4[][2] = {{8, 0}, {0, 8}, {13, 14}, {14, 13}, {15, 16}, {16, 15}, {10, 9}, {9, 10}, {17, 18}, {18, 17}};
  static const int v6[][2] = {{128, 129}, {129, 128}, {130, 131}, {131, 130}, {133, 134}, {134, 133},
                              {135, 136}, {136, 135}, {139, 140}, {140, 139}, {144, 145}, {145, 144}};
  size_t address_len = f->ip_version == 4 ? 4 : 16;
  uint8_t saddr[16], daddr[16];
  address_bytes(f->ip_version, f->orig_addr, saddr);
  address_bytes(f->ip_version, f->resp_addr, daddr);
  int32_t sport = f->id_orig_port, dport = f->id_resp_port;
  int one_way = 0;
  if (f->protocol == 1 || f->protocol == 58) {
    const int(*table)[2] = f->protocol == 58 ? v6 : v4;
    size_t n = f->protocol == 58 ? sizeof v6 / sizeof v6[0] : sizeof v4 / sizeof v4[0];
    one_way = 1;
    for (size_t i = 0; i < n; i++) {
      if (table[i][0] == sport) {
        dport = table[i][1];
        one_way = 0;
        break;
      }
    }
  }
  int cmp = memcmp(saddr, daddr, address_len);
  const uint8_t *low = saddr, *high = daddr;
  if (!one_way && (cmp > 0 || (cmp == 0 && sport > dport))) {
    low = daddr, high = saddr;
    int32_t swap = sport;
    sport = dport, dport = swap;
  }
  uint8_t input[2 + 32 + 2 + 4] = {0, 0};
  size_t at = 2;
  memcpy(input + at, low, address_len), at += address_len;
  memcpy(input + at, high, address_len), at += address_len;
  input[at++] = (uint8_t)f->protocol;
  input[at++] = 0;
  int p = f->protocol;
  if (p == 6 || p == 17 || p == 132 || p == 1 || p == 58) {
    input[at++] = (uint8_t)(sport >> 8), input[at++] = (uint8_t)sport;
    input[at++] = (uint8_t)(dport >> 8), input[at++] = (uint8_t)dport;
  }
  uint8_t digest[20];
  sha1(input, at, digest);
  memcpy(out, "1:", 2);
  return 2 + base64(digest, 20, out + 2);
}

/* flow-rows.ts macText: 00:d0:03:3b:f4:00, or none (-1) for no MAC or all zeros. */
static int32_t mac_text(double mac, char *out) {
  if (!(mac > 0)) return -1;
  uint64_t v = (uint64_t)mac;
  for (int i = 0; i < 6; i++) {
    unsigned byte = (unsigned)(v >> (40 - 8 * i) & 255);
    out[3 * i] = hex_digits[byte >> 4];
    out[3 * i + 1] = hex_digits[byte & 15];
    if (i < 5) out[3 * i + 2] = ':';
  }
  return 17;
}

/* conn.ts protoName: the transport as Zeek's proto field names it. */
static size_t proto_text(int32_t protocol, char *out) {
  const char *name = protocol == 6 ? "tcp" : protocol == 17 ? "udp" : protocol == 1 || protocol == 58 ? "icmp" : "unknown_transport";
  size_t n = strlen(name);
  memcpy(out, name, n);
  return n;
}

size_t np_flow_text(const struct np_flow_record *flow, int32_t uid_seed, char *out, int32_t lengths[NP_FLOW_TEXTS]) {
  size_t n = 0;
  lengths[NP_UID] = (int32_t)uid_text(uid_seed, flow->no, out + n), n += (size_t)lengths[NP_UID];
  lengths[NP_ORIG_ADDR] = (int32_t)address_text(flow->ip_version, flow->orig_addr, out + n), n += (size_t)lengths[NP_ORIG_ADDR];
  lengths[NP_RESP_ADDR] = (int32_t)address_text(flow->ip_version, flow->resp_addr, out + n), n += (size_t)lengths[NP_RESP_ADDR];
  lengths[NP_PROTO] = (int32_t)proto_text(flow->protocol, out + n), n += (size_t)lengths[NP_PROTO];
  lengths[NP_COMMUNITY_ID] = (int32_t)community_id(flow, out + n), n += (size_t)lengths[NP_COMMUNITY_ID];
  lengths[NP_ORIG_L2] = mac_text(flow->orig_l2, out + n), n += lengths[NP_ORIG_L2] > 0 ? (size_t)lengths[NP_ORIG_L2] : 0;
  lengths[NP_RESP_L2] = mac_text(flow->resp_l2, out + n), n += lengths[NP_RESP_L2] > 0 ? (size_t)lengths[NP_RESP_L2] : 0;
  return n;
}
