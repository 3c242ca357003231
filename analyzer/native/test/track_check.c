/*
 * np_track under AddressSanitizer and UBSan (test/analyzer/native-tracker.test.ts builds and runs
 * it): batches of random packets over a few endpoints — every protocol the tracker keys
 * differently, random flags, sequence numbers near their wrap, times that jump past every timer,
 * fragments, rows with no IP — each column in a heap block of exactly the batch's size. Checks
 * that what the tracker writes stays in range and that every connection it made is retired
 * exactly once. Exits 0 after `rounds` batches; prints the first broken rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "np_track.h"

static uint32_t state = 20261128;
static uint32_t next_random(void) {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

#define COLUMN(type, name) type *name = calloc(rows, sizeof *name)

static int fail(const char *rule, unsigned round, unsigned row) {
  printf("round %u, row %u: %s\n", round, row, rule);
  return 1;
}

int main(int argc, char **argv) {
  unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 1000;
  /* A cap a few batches of connections reach: retiring early to stay under it is checked too. */
  struct np_tracker *tracker = np_track_new(24);
  if (!tracker) return fail("np_track_new failed", 0, 0);
  double t = 0;
  uint32_t seq_base = 0xfffff000u;
  int32_t highest_flow = -1;
  size_t retired = 0;
  for (unsigned round = 0; round < rounds; round++) {
    uint32_t rows = 1 + next_random() % 200;
    COLUMN(double, tf); COLUMN(int64_t, exact); COLUMN(uint8_t, ip_version); COLUMN(int16_t, protocol);
    COLUMN(uint32_t, src0); COLUMN(uint32_t, src1); COLUMN(uint32_t, src2); COLUMN(uint32_t, src3);
    COLUMN(uint32_t, dst0); COLUMN(uint32_t, dst1); COLUMN(uint32_t, dst2); COLUMN(uint32_t, dst3);
    COLUMN(int32_t, src_port); COLUMN(int32_t, dst_port); COLUMN(int32_t, frag_offset); COLUMN(uint8_t, broken);
    COLUMN(uint8_t, bad_checksum); COLUMN(int16_t, icmp_type); COLUMN(int16_t, icmp_code); COLUMN(int16_t, tcp_flags);
    COLUMN(uint32_t, seq); COLUMN(uint32_t, ack); COLUMN(int32_t, window); COLUMN(int32_t, ip_len); COLUMN(int32_t, l4_len);
    COLUMN(int32_t, payload_len); COLUMN(int32_t, udp_length); COLUMN(int32_t, app_head); COLUMN(double, mac_src);
    COLUMN(double, mac_dst); COLUMN(uint8_t, fragment); COLUMN(int32_t, datagram); COLUMN(int32_t, flow_no);
    COLUMN(uint8_t, from_first_sender); COLUMN(uint8_t, is_orig); COLUMN(int32_t, resp_port);
    static const int protocols[] = {6, 6, 6, 17, 17, 1, 58, 132, 47};
    static const int32_t ports[] = {53, 80, 123, 443, 5353, 40000, 40001, 0};
    for (uint32_t i = 0; i < rows; i++) {
      uint32_t r = next_random();
      t += r % 50 == 0 ? 400e9 : (double)(r % 3000) * 1e6;
      tf[i] = t;
      exact[i] = (int64_t)t;
      ip_version[i] = r % 40 == 0 ? 0 : r % 5 == 0 ? 6 : 4;
      protocol[i] = (int16_t)protocols[next_random() % 9];
      uint32_t a = next_random() % 4, b = next_random() % 4;
      src0[i] = 0x0a000001 + a, dst0[i] = r % 30 == 0 ? 0xffffffffu : 0x0a000001 + b;
      src1[i] = src2[i] = src3[i] = a, dst1[i] = dst2[i] = dst3[i] = b;
      if (ip_version[i] == 6 && r % 7 == 0) dst0[i] = 0xff020000;
      src_port[i] = ports[next_random() % 8], dst_port[i] = ports[next_random() % 8];
      frag_offset[i] = next_random() % 30 == 0 ? 8 : 0;
      broken[i] = next_random() % 40 == 0;
      bad_checksum[i] = next_random() % 40 == 0;
      icmp_type[i] = (int16_t)(next_random() % 20), icmp_code[i] = (int16_t)(next_random() % 3);
      tcp_flags[i] = (int16_t)(next_random() % 32);
      seq[i] = seq_base + next_random() % 20000, ack[i] = seq_base + next_random() % 20000;
      window[i] = (int32_t)(next_random() % 3);
      payload_len[i] = (int32_t)(next_random() % 4 ? next_random() % 1500 : 0);
      l4_len[i] = payload_len[i] + 20, ip_len[i] = l4_len[i] + 20, udp_length[i] = (int32_t)(next_random() % 2 ? l4_len[i] : 0);
      app_head[i] = next_random() % 3 ? (int32_t)(next_random() & 0xffffff) : -1;
      mac_src[i] = next_random() % 2 ? (double)(next_random() % 1000) : -1, mac_dst[i] = -1;
      fragment[i] = next_random() % 50 == 0;
      datagram[i] = fragment[i] && next_random() % 2 ? 0 : -1;
    }
    seq_base += 7000;
    struct np_track_columns k = {
        .capacity = rows, .tf = tf, .t = exact, .ip_version = ip_version, .protocol = protocol,
        .src = {src0, src1, src2, src3}, .dst = {dst0, dst1, dst2, dst3}, .src_port = src_port, .dst_port = dst_port,
        .frag_offset = frag_offset, .broken = broken, .bad_checksum = bad_checksum, .icmp_type = icmp_type,
        .icmp_code = icmp_code, .tcp_flags = tcp_flags, .seq = seq, .ack = ack, .window = window, .ip_len = ip_len,
        .l4_len = l4_len, .payload_len = payload_len, .udp_length = udp_length, .app_head = app_head, .mac_src = mac_src,
        .mac_dst = mac_dst, .fragment = fragment, .datagram = datagram, .flow_no = flow_no,
        .from_first_sender = from_first_sender, .is_orig = round % 2 ? is_orig : NULL, .resp_port = round % 2 ? resp_port : NULL};
    struct np_track_hit hit;
    for (uint32_t i = 0; i < rows;) {
      uint32_t stop = np_track_rows(tracker, &k, i, rows + (next_random() % 3), &hit);
      if (stop > rows || stop < i) return fail("stopped outside the rows asked for", round, i);
      if (stop < rows && !(fragment[stop] && datagram[stop] >= 0)) return fail("stopped at a row that is not a completing fragment", round, stop);
      for (uint32_t j = i; j < stop; j++) {
        if (flow_no[j] < -1 || flow_no[j] > highest_flow + 1 + (int32_t)(j - i)) return fail("flow number out of range", round, j);
        if (flow_no[j] > highest_flow) highest_flow = flow_no[j];
        if (from_first_sender[j] > 2 || (flow_no[j] < 0) != (from_first_sender[j] == 2)) return fail("from_first_sender does not fit its flow", round, j);
      }
      i = stop < rows ? stop + 1 : stop;
    }
    if (next_random() % 4 == 0 || round + 1 == rounds) {
      /* The oldest retired a few at a time now and then (as the end does in groups), all at the end. */
      np_track_finish_oldest(tracker, round + 1 == rounds ? SIZE_MAX : next_random() % 3);
      size_t count;
      const struct np_flow_record *flows = np_track_finished(tracker, &count);
      for (size_t f = 0; f < count; f++) {
        if (flows[f].no < 0 || flows[f].no > highest_flow) return fail("a retired flow that was never made", round, 0);
        if (flows[f].duration_ns < 0 || flows[f].orig_pkts < 0 || flows[f].resp_pkts < 0) return fail("negative duration or count", round, 0);
        if (!flows[f].conn_state || (flows[f].history_len && !flows[f].history)) return fail("no conn_state or history", round, 0);
      }
      /* Cleared in part, as drain() clears what it gives: the rest must stay, in order. */
      size_t cleared = round + 1 == rounds ? count : next_random() % (count + 1);
      int32_t next_no = cleared < count ? flows[cleared].no : -1;
      retired += cleared;
      np_track_clear_finished(tracker, cleared);
      if (next_no >= 0 && np_track_finished(tracker, &count)[0].no != next_no) return fail("clearing part of the retired flows lost the rest", round, 0);
    }
    if (np_track_failed(tracker)) return fail("an allocation failed", round, 0);
    free(tf); free(exact); free(ip_version); free(protocol); free(src0); free(src1); free(src2); free(src3); free(dst0);
    free(dst1); free(dst2); free(dst3); free(src_port); free(dst_port); free(frag_offset); free(broken); free(bad_checksum);
    free(icmp_type); free(icmp_code); free(tcp_flags); free(seq); free(ack); free(window); free(ip_len); free(l4_len);
    free(payload_len); free(udp_length); free(app_head); free(mac_src); free(mac_dst); free(fragment); free(datagram);
    free(flow_no); free(from_first_sender); free(is_orig); free(resp_port);
  }
  if (np_track_evicted(tracker) == 0) return fail("no connection was ever retired to stay under the cap", rounds, 0);
  if (retired != (size_t)highest_flow + 1) {
    printf("%zu flows retired, %d made\n", retired, highest_flow + 1);
    return 1;
  }
  np_track_free(tracker);
  printf("%u batches tracked\n", rounds);
  return 0;
}
