/*
 * np_pcap_decode under AddressSanitizer and UBSan (test/analyzer/native-decoder.test.ts builds
 * and runs it): windows of pcap records or pcapng enhanced packet blocks — plain frames, frames with every header length and
 * field changed at random, cut short anywhere — each in a heap block of exactly its size, so a
 * read one byte outside the window stops the run. Checks too that what the decoder reports stays
 * inside what it was given. Exits 0 after `rounds` windows; prints the first broken rule.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "np_pcap_decode.h"

#define ROWS 64

static uint32_t state = 20261128;
static uint32_t next_random(void) {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

static void put32le(uint8_t *b, uint32_t v) {
  for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
}

/* A plain Ethernet frame of a random kind: IPv4 or IPv6, TCP, UDP or ICMP, maybe VLAN-tagged. */
static size_t plain_frame(uint8_t *f) {
  size_t n = 0;
  memset(f, 0, 1600);
  n = 12;
  if (next_random() % 4 == 0) {
    f[n++] = 0x81, f[n++] = 0x00, n += 2;
  }
  int v6 = next_random() % 3 == 0;
  int protocol = (int[]){6, 6, 17, v6 ? 58 : 1}[next_random() % 4];
  size_t payload = next_random() % 1500;
  size_t l4 = protocol == 6 ? 20 : 8;
  f[n++] = v6 ? 0x86 : 0x08, f[n++] = v6 ? 0xdd : 0x00;
  if (v6) {
    f[n] = 0x60, f[n + 4] = (uint8_t)((l4 + payload) >> 8), f[n + 5] = (uint8_t)(l4 + payload), f[n + 6] = (uint8_t)protocol;
    n += 40;
  } else {
    f[n] = 0x45, f[n + 2] = (uint8_t)((20 + l4 + payload) >> 8), f[n + 3] = (uint8_t)(20 + l4 + payload), f[n + 9] = (uint8_t)protocol;
    n += 20;
  }
  f[n] = (uint8_t)next_random(), f[n + 2] = (uint8_t)next_random();
  if (protocol == 6) f[n + 12] = 5 << 4;
  if (protocol == 17) f[n + 4] = (uint8_t)((l4 + payload) >> 8), f[n + 5] = (uint8_t)(l4 + payload);
  n += l4;
  for (size_t i = 0; i < payload && n < 1600; i++) f[n++] = (uint8_t)next_random();
  return n;
}

static int check(int ok, const char *rule, int round) {
  if (!ok) fprintf(stderr, "round %d: %s\n", round, rule);
  return ok;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20000;
  static uint8_t staged[256 * 1024];
  struct np_columns c = {.capacity = ROWS};
  // Each column in a block of its own, so that a row past the capacity is caught too.
  void *blocks[64];
  int allocated = 0;
#define COLUMN(field) blocks[allocated++] = c.field = calloc(ROWS, sizeof *c.field)
  COLUMN(packet_no), COLUMN(t), COLUMN(interface_id), COLUMN(direction), COLUMN(orig_len), COLUMN(cap_len), COLUMN(ip_version);
  COLUMN(protocol), COLUMN(src_port), COLUMN(dst_port), COLUMN(tcp_flags), COLUMN(seq), COLUMN(ack), COLUMN(ip_len);
  COLUMN(payload_len), COLUMN(process_no), COLUMN(problem_no), COLUMN(tf), COLUMN(frag_offset), COLUMN(broken), COLUMN(bad_checksum);
  COLUMN(icmp_type), COLUMN(icmp_code), COLUMN(window), COLUMN(l4_len), COLUMN(udp_length), COLUMN(app_head), COLUMN(mac_src);
  COLUMN(mac_dst), COLUMN(fragment), COLUMN(datagram), COLUMN(payload_at), COLUMN(payload_end);
  for (int w = 0; w < 4; w++) COLUMN(src[w]), COLUMN(dst[w]);
  int ok = 1;
  for (int round = 0; ok && round < rounds; round++) {
    size_t length = 0;
    // Few records: only the window's last packet ends where the heap block does.
    int records = 1 + next_random() % 3;
    // Odd rounds: pcapng enhanced packet blocks, some with options, some of another interface.
    int pcapng = round % 2;
    for (int r = 0; r < records; r++) {
      uint8_t *h = staged + length;
      size_t header = pcapng ? 28 : 16;
      size_t frame = plain_frame(h + header);
      // Often cut short, as a snap length does: the packet ends inside any of its headers.
      size_t captured = next_random() % 2 ? frame : next_random() % (frame + 1);
      if (!pcapng) {
        put32le(h, 1700000000 + (uint32_t)r), put32le(h + 4, next_random() % 1000000), put32le(h + 8, (uint32_t)captured), put32le(h + 12, (uint32_t)frame);
        length += 16 + captured;
        continue;
      }
      size_t padded = (captured + 3) & ~(size_t)3;
      memset(h + 28 + captured, 0, padded - captured + 12);
      // No options, an end-of-options, or a flags option (which the decoder leaves alone).
      size_t options = (size_t[]){0, 4, 12}[next_random() % 3];
      if (options == 12) h[28 + padded] = 2, h[30 + padded] = 4;
      uint32_t total = (uint32_t)(32 + padded + options);
      uint64_t units = (uint64_t)(1700000000 + r) * 1000000 + next_random() % 1000000;
      put32le(h, NP_PCAPNG_ENHANCED_PACKET), put32le(h + 4, total), put32le(h + 8, next_random() % 8 == 0);
      put32le(h + 12, (uint32_t)(units >> 32)), put32le(h + 16, (uint32_t)units), put32le(h + 20, (uint32_t)captured), put32le(h + 24, (uint32_t)frame);
      put32le(h + total - 4, total);
      length += total;
    }
    for (int k = next_random() % 8; k > 0; k--) staged[next_random() % length] = (uint8_t)next_random();
    if (next_random() % 4 == 0) length = next_random() % (length + 1);
    uint8_t *window = malloc(length ? length : 1);
    memcpy(window, staged, length);
    // The frames are Ethernet; read as another link type they are other bytes to survive.
    static const int link_types[] = {NP_LINK_ETHERNET, NP_LINK_ETHERNET, NP_LINK_ETHERNET, NP_LINK_NULL, NP_LINK_RAW, NP_LINK_LOOP, NP_LINK_LINUX_SLL, NP_LINK_IPV4, NP_LINK_IPV6, NP_LINK_LINUX_SLL2};
    // Mostly a lone input's (no bound); else another input's next event a few seconds in.
    int64_t until_t = next_random() % 4 ? INT64_MAX : (int64_t)(next_random() % 4) * 1000000000;
    struct np_pcap_format format = {.pcapng = pcapng, .little_endian = 1, .nanos = round % 3 == 0, .until_t = until_t, .link_type = link_types[next_random() % 10], .start_sec = 1700000000};
    struct np_pcap_run run = {.window = window, .pos = 0, .end = length, .row = next_random() % (ROWS + 8), .room = next_random() % (ROWS + 8)};
    uint32_t row = run.row;
    np_pcap_decode(&format, &c, &run);
    ok = check(run.pos <= length, "stopped past the window's end", round) &&
             check(run.packets == 0 || (row < ROWS && run.packets <= ROWS - row), "wrote rows past the columns' capacity", round);
    for (uint32_t i = row; ok && i < row + run.packets; i++) {
      // A payload may start past a cut packet's end (nothing of it is read); it never ends past it.
      ok = check(c.payload_at[i] == -1 || (c.payload_at[i] >= 0 && c.payload_end[i] >= 0 && (size_t)c.payload_end[i] <= run.pos), "a payload past its packet's end", round);
    }
    free(window);
  }
  while (allocated > 0) free(blocks[--allocated]);
  if (ok) printf("%d windows decoded\n", rounds);
  return ok ? 0 : 1;
}
