/*
 * Connection tracking (np_track.h). Each rule here has its twin, with its reasons, in
 * analyzer/flows/tracker.ts (the table and the timers), conn.ts (counters, history, flips) and
 * tcp.ts (endpoint states and sequence space); the two must stay in step, and
 * test/analyzer/native-tracker.test.ts holds them to it. Times are the batch's double session
 * times, compared exactly as the TypeScript compares them.
 */
#include "np_track.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SECOND 1e9
#define TCP_INACTIVITY (300 * SECOND)
#define UDP_INACTIVITY (60 * SECOND)
#define OTHER_INACTIVITY (60 * SECOND)
#define TCP_ATTEMPT (5 * SECOND)
#define TCP_CLOSE (5 * SECOND)
#define TCP_SYN_TIMEOUT (5 * SECOND)
#define TCP_SESSION_TIMER (6 * SECOND)
#define TCP_LINGER (5 * SECOND)
#define SWEEP_EVERY (10 * SECOND)

#define TOO_LARGE_SEQ_DELTA 1048576
#define TWO_32 4294967296LL

enum { FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10 };
enum { INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET };
enum { APP_NONE, APP_DNS, APP_NTP };
/* History bits, one set per side (the responder's shifted 16 left). */
enum { H_SYN = 0x1, H_FIN = 0x2, H_RST = 0x4, H_FIN_RST = 0x8, H_DATA = 0x10, H_ACK = 0x20, H_MULTI_FLAG = 0x40, H_BAD_CHECKSUM = 0x4000 };
enum { STEP_TOUCH = 1, STEP_CLOSE_COMPLETE = 2 };

struct endpoint {
  int state, prev_state;
  uint32_t start_seq, last_seq, ack_seq;
  int64_t seq_wraps, ack_wraps;
  int64_t fin_count, fin_seq;
  bool did_close;
  int64_t hist_last_syn, hist_last_fin, hist_last_rst;
  int64_t retransmits, retransmit_threshold, zero_windows, zero_window_threshold, gaps, gap_threshold;
  /* Reassembly bookkeeping for gaps (tcp.ts): below trim_seq accounted for, [trim_seq, contiguous) seen. */
  int64_t trim_seq, contiguous;
  /* Data seen beyond `contiguous`, as sorted, merged [start, end) pairs. */
  int64_t *ranges;
  uint32_t range_len, range_cap;
};

struct conn {
  struct conn *bucket_next;
  struct conn *older, *newer; /* open connections in creation order */
  uint32_t hash;
  int32_t no;
  int protocol, ip_version;
  uint32_t orig_id[4], resp_id[4];
  int32_t orig_port, resp_port;
  uint32_t first_id[4];
  int32_t first_port;
  int32_t id_ports[2];
  bool has_id_ports;
  char *history;
  uint32_t history_len, history_cap, history_seen;
  int64_t missed_bytes;
  int64_t orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes;
  int64_t orig_size, resp_size; /* UDP/ICMP payload bytes per side; -1 while a side has sent nothing */
  double start_t, last_t, closed_at;
  bool closed;
  int64_t start_exact, last_exact;
  bool tcp;
  struct endpoint ep[2];
  int orig_ep; /* which of ep is the originator's; a flip swaps it */
  int app;
  bool dns_first_message;
  int64_t packets;
  double orig_l2, resp_l2;
  bool touched; /* had a packet since the clock hand last passed it (make_room) */
};

struct np_tracker {
  struct conn **buckets;
  uint32_t bucket_mask;
  uint32_t open;
  struct conn *oldest, *newest;
  /* Over max_open, make_room retires one: `hand` is the last connection it looked at (NULL: none, or the oldest's place). */
  uint32_t max_open;
  struct conn *hand;
  int64_t evicted;
  int32_t created;
  double next_sweep;
  /* Retired connections not yet cleared: [finished_head, finished_len) of `finished`, a queue. */
  struct np_flow_record *finished;
  size_t finished_head, finished_len, finished_cap;
  int failed;
};

/* ---- the packet, as tracking reads it ---- */

struct packet {
  double t;
  int64_t exact;
  int ip_version, protocol;
  uint32_t src[4], dst[4];
  int32_t src_port, dst_port;
  int flags;
  uint32_t seq, ack;
  int32_t window, ip_len, l4_len, payload_len, udp_length, app_head;
  bool bad_checksum;
  double mac_src, mac_dst;
};

static bool same_id(const uint32_t *a, const uint32_t *b) { return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3]; }

static bool is_ported(int protocol) { return protocol == 6 || protocol == 17 || protocol == 1 || protocol == 58; }

/* Zeek's mapping of an ICMP type/code onto ports (community-id.ts icmpPorts). */
static void icmp_ports(int protocol, int type, int code, int32_t *src_port, int32_t *dst_port) {
  static const int v4[][2] = {{8, 0}, {0, 8}, {13, 14}, {14, 13}, {15, 16}, {16, 15}, {10, 9}, {9, 10}, {17, 18}, {18, 17}};
  static const int v6[][2] = {{128, 129}, {129, 128}, {130, 131}, {131, 130}, {133, 134}, {134, 133},
                              {135, 136}, {136, 135}, {139, 140}, {140, 139}, {144, 145}, {145, 144}};
  const int(*table)[2] = protocol == 58 ? v6 : v4;
  size_t n = protocol == 58 ? sizeof v6 / sizeof v6[0] : sizeof v4 / sizeof v4[0];
  *src_port = type;
  *dst_port = code;
  for (size_t i = 0; i < n; i++) {
    if (table[i][0] == type) {
      *dst_port = table[i][1];
      return;
    }
  }
}

/* likely-server-ports.ts */
static bool likely_server_port(int protocol, int32_t port) {
  static const int32_t tcp[] = {21, 22, 23, 25, 53, 80, 81, 88, 102, 110, 111, 135, 139, 143, 389, 443, 445, 502, 524, 563, 585, 587, 614, 631, 636, 989, 990,
                                992, 993, 995, 1080, 1433, 1434, 1883, 2049, 2811, 3128, 3268, 3306, 3389, 5060, 5223, 5432, 6379, 6666, 6667, 6668, 6669,
                                8000, 8080, 8888, 20000};
  static const int32_t udp[] = {53, 67, 69, 88, 111, 123, 137, 161, 162, 500, 514, 1812, 1813, 2049, 2123, 2152, 3478, 3544, 4500, 4789, 5060, 5072, 5353,
                                5355, 6081, 20000};
  const int32_t *list = protocol == 6 ? tcp : protocol == 17 ? udp : NULL;
  size_t n = protocol == 6 ? sizeof tcp / sizeof tcp[0] : sizeof udp / sizeof udp[0];
  if (!list) return false;
  for (size_t i = 0; i < n; i++) if (list[i] == port) return true;
  return false;
}

static bool is_broadcast(int ip_version, const uint32_t *addr) { return ip_version == 4 && addr[0] == 0xffffffffu; }

/* tracker.ts isMulticast tests the address text: 224-239.x for IPv4, text starting "ff" for IPv6. */
static bool is_multicast(int ip_version, const uint32_t *addr) {
  if (ip_version == 4) return (addr[0] >> 24) >= 224 && (addr[0] >> 24) <= 239;
  uint32_t group = addr[0] >> 16;
  return group == 0xff || (group >= 0xff0 && group <= 0xfff) || group >= 0xff00;
}

/* ---- history, flips, counters (conn.ts) ---- */

static void history_add(struct np_tracker *tracker, struct conn *c, char code, bool is_orig) {
  if (c->history_len == c->history_cap) {
    uint32_t cap = c->history_cap ? c->history_cap * 2 : 16;
    char *grown = realloc(c->history, cap);
    if (!grown) {
      tracker->failed = -1;
      return;
    }
    c->history = grown;
    c->history_cap = cap;
  }
  c->history[c->history_len++] = is_orig || code == '^' ? code : (char)(code - 'A' + 'a');
}

/* Adds `code` once per connection for `bit`; true if it had been added already. */
static bool check_history(struct np_tracker *tracker, struct conn *c, uint32_t bit, char code, bool is_orig) {
  uint32_t mask = is_orig ? bit : bit << 16;
  if (c->history_seen & mask) return true;
  c->history_seen |= mask;
  history_add(tracker, c, code, is_orig);
  return false;
}

#define SWAP(type, a, b) do { type swap_ = (a); (a) = (b); (b) = swap_; } while (0)

/* Swaps originator and responder; the history bits and UDP sizes recorded stay (conn.ts flipRoles). */
static void flip_roles(struct np_tracker *tracker, struct conn *c) {
  uint32_t id[4];
  memcpy(id, c->orig_id, sizeof id);
  memcpy(c->orig_id, c->resp_id, sizeof id);
  memcpy(c->resp_id, id, sizeof id);
  SWAP(int32_t, c->orig_port, c->resp_port);
  SWAP(int64_t, c->orig_pkts, c->resp_pkts);
  SWAP(int64_t, c->orig_ip_bytes, c->resp_ip_bytes);
  SWAP(double, c->orig_l2, c->resp_l2);
  if (c->tcp) c->orig_ep ^= 1;
  history_add(tracker, c, '^', true);
}

static bool is_orig_sender(const struct conn *c, const uint32_t *src, int32_t src_port) { return same_id(src, c->orig_id) && src_port == c->orig_port; }

static void datagram(struct np_tracker *tracker, struct conn *c, bool is_orig, int64_t bytes, const struct packet *p, char code) {
  if (code) check_history(tracker, c, is_orig ? 1 : 2, code, is_orig);
  if (is_orig) c->orig_size = (c->orig_size > 0 ? c->orig_size : 0) + bytes;
  else c->resp_size = (c->resp_size > 0 ? c->resp_size : 0) + bytes;
  c->last_t = p->t;
  c->last_exact = p->exact;
}

/* ---- TCP endpoints (tcp.ts) ---- */

static struct endpoint *orig_ep(struct conn *c) { return &c->ep[c->orig_ep]; }
static struct endpoint *resp_ep(struct conn *c) { return &c->ep[c->orig_ep ^ 1]; }
static struct endpoint *peer_of(struct conn *c, struct endpoint *e) { return &c->ep[(e - c->ep) ^ 1]; }
static bool ep_is_orig(const struct conn *c, const struct endpoint *e) { return (e - c->ep) == c->orig_ep; }

static void ep_init(struct endpoint *e) {
  memset(e, 0, sizeof *e);
  e->retransmit_threshold = e->zero_window_threshold = e->gap_threshold = 1;
  e->trim_seq = e->contiguous = 1;
}

static void set_state(struct endpoint *e, int next) {
  if (next != e->state) {
    e->prev_state = e->state;
    e->state = next;
  }
}

static int32_t seq_delta(uint32_t a, uint32_t b) { return (int32_t)(a - b); }

static int64_t ep_size(struct conn *c, struct endpoint *e) {
  struct endpoint *peer = peer_of(c, e);
  int64_t last = e->seq_wraps * TWO_32 + e->last_seq;
  int64_t ack = e->ack_wraps * TWO_32 + e->ack_seq;
  if (e->prev_state == SYN_SENT && e->state == RESET && peer->state == INACTIVE && !(ack == e->start_seq || ack == (int64_t)e->start_seq + 1)) return 0;
  int64_t size = (last > ack ? last : ack) - e->start_seq;
  if (size != 0) size--;
  if (e->fin_count > 0 && size != 0) size--;
  return size;
}

static void ep_more(struct np_tracker *tracker, struct conn *c, struct endpoint *e, int64_t *count, int64_t *threshold, char code) {
  if (++*count == *threshold) {
    history_add(tracker, c, code, ep_is_orig(c, e));
    *threshold *= 10;
  }
}

static bool ranges_room(struct np_tracker *tracker, struct endpoint *e, uint32_t len) {
  if (len <= e->range_cap) return true;
  uint32_t cap = e->range_cap ? e->range_cap : 8;
  while (cap < len) cap *= 2;
  int64_t *grown = realloc(e->ranges, cap * sizeof *grown);
  if (!grown) {
    tracker->failed = -1;
    return false;
  }
  e->ranges = grown;
  e->range_cap = cap;
  return true;
}

/* Forgets the first `n` numbers (n / 2 ranges) of the endpoint's islands. */
static void drop_ranges(struct endpoint *e, uint32_t n) {
  if (!n) return;
  memmove(e->ranges, e->ranges + n, (e->range_len - n) * sizeof *e->ranges);
  e->range_len -= n;
}

static void absorb_ranges(struct endpoint *e) {
  uint32_t drop = 0;
  while (drop < e->range_len && e->ranges[drop] <= e->contiguous) {
    if (e->ranges[drop + 1] > e->contiguous) e->contiguous = e->ranges[drop + 1];
    drop += 2;
  }
  drop_ranges(e, drop);
}

static void data_sent(struct np_tracker *tracker, struct endpoint *e, int64_t seq, int64_t len) {
  int64_t end = seq + len;
  if (end <= e->contiguous) return;
  if (seq <= e->contiguous) {
    e->contiguous = end;
    absorb_ranges(e);
    return;
  }
  /* Out of order: merge [seq, end) into the sorted islands. */
  uint32_t i = 0;
  while (i < e->range_len && e->ranges[i + 1] < seq) i += 2;
  uint32_t j = i;
  int64_t s = seq, t = end;
  while (j < e->range_len && e->ranges[j] <= t) {
    if (e->ranges[j] < s) s = e->ranges[j];
    if (e->ranges[j + 1] > t) t = e->ranges[j + 1];
    j += 2;
  }
  uint32_t len_after = e->range_len - (j - i) + 2;
  if (!ranges_room(tracker, e, len_after)) return;
  memmove(e->ranges + i + 2, e->ranges + j, (e->range_len - j) * sizeof *e->ranges);
  e->ranges[i] = s;
  e->ranges[i + 1] = t;
  e->range_len = len_after;
}

static void ack_received(struct np_tracker *tracker, struct conn *c, struct endpoint *e, int64_t seq, bool at_close) {
  int64_t up_to = seq;
  if (e->fin_count > 0 && up_to >= e->fin_seq) up_to = e->fin_seq - 1;
  if (up_to <= e->trim_seq) return;
  e->trim_seq = up_to;
  if (up_to <= e->contiguous) return;
  int64_t missing = 0;
  int64_t cursor = e->contiguous;
  uint32_t drop = 0;
  while (drop < e->range_len && e->ranges[drop] < up_to) {
    missing += e->ranges[drop] - cursor;
    cursor = e->ranges[drop + 1];
    if (cursor > up_to) {
      e->ranges[drop] = up_to;
      break;
    }
    drop += 2;
  }
  drop_ranges(e, drop);
  if (up_to > cursor) missing += up_to - cursor;
  e->contiguous = up_to > cursor ? up_to : cursor;
  absorb_ranges(e);
  bool report = e->state != PARTIAL && peer_of(c, e)->state != PARTIAL;
  if (missing > 0 && report) {
    c->missed_bytes += missing;
    if (!at_close) ep_more(tracker, c, e, &e->gaps, &e->gap_threshold, 'G');
  }
}

static void init_endpoint(struct endpoint *e, bool syn, uint32_t first_seq, uint32_t last_seq) {
  switch (e->state) {
    case INACTIVE:
      if (syn) {
        e->ack_seq = e->start_seq = first_seq;
      } else {
        e->ack_seq = e->start_seq = first_seq - 1;
        last_seq = first_seq;
      }
      e->last_seq = last_seq;
      break;
    case SYN_SENT:
    case SYN_ACK_SENT:
      if (syn && first_seq != e->start_seq) {
        e->start_seq = e->ack_seq = first_seq;
        e->last_seq = last_seq;
      }
      break;
    case ESTABLISHED:
    case PARTIAL:
      if (syn) {
        e->start_seq = e->ack_seq = first_seq;
        e->last_seq = last_seq;
      }
      break;
    case RESET:
      if (syn && e->prev_state == INACTIVE) {
        e->start_seq = e->ack_seq = first_seq;
        e->last_seq = last_seq;
      }
      break;
  }
}

static int64_t relative_seq(const struct endpoint *e, uint32_t current, uint32_t last, int64_t wraps) {
  int32_t delta = seq_delta(current, last);
  if (delta < 0) {
    if (wraps && current > last) wraps--;
  } else if (delta > 0) {
    if (current < last) wraps++;
  }
  if (wraps == 0) return seq_delta(current, e->start_seq);
  return wraps * TWO_32 + current - (int64_t)e->start_seq;
}

static void update_history(struct np_tracker *tracker, struct conn *c, struct endpoint *e, int flags, int64_t rel_seq, int32_t len) {
  bool syn = flags & SYN, fin = flags & FIN, rst = flags & RST;
  int bits = syn + fin + rst;
  bool o = ep_is_orig(c, e);
  if (bits > 1) {
    if (fin && rst) check_history(tracker, c, H_FIN_RST, 'I', o);
    else check_history(tracker, c, H_MULTI_FLAG, 'Q', o);
  } else if (bits == 1) {
    if (syn) {
      char code = flags & ACK ? 'H' : 'S';
      if (check_history(tracker, c, H_SYN, code, o) && rel_seq != e->hist_last_syn) history_add(tracker, c, code, o);
      e->hist_last_syn = rel_seq;
    }
    if (fin) {
      if (check_history(tracker, c, H_FIN, 'F', o) && rel_seq + len != e->hist_last_fin) history_add(tracker, c, 'F', o);
      e->hist_last_fin = rel_seq + len;
    }
    if (rst) {
      if (check_history(tracker, c, H_RST, 'R', o) && rel_seq != e->hist_last_rst) history_add(tracker, c, 'R', o);
      e->hist_last_rst = rel_seq;
    }
  } else if (len > 0) {
    check_history(tracker, c, H_DATA, 'D', o);
  } else if (flags & ACK) {
    check_history(tracker, c, H_ACK, 'A', o);
  }
}

static void update_ack_seq(struct endpoint *e, uint32_t ack_seq) {
  int32_t delta = seq_delta(ack_seq, e->ack_seq);
  if (ack_seq == 0 && delta > TOO_LARGE_SEQ_DELTA) return;
  if (delta > 0) {
    if (ack_seq < e->ack_seq) e->ack_wraps++;
    e->ack_seq = ack_seq;
  }
}

static void update_last_seq(struct np_tracker *tracker, struct conn *c, struct endpoint *e, uint32_t last_seq, int flags, int32_t len) {
  int32_t delta = seq_delta(last_seq, e->last_seq);
  bool syn_or_rst = flags & (SYN | RST);
  if (syn_or_rst && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA)) {
    /* far-off sequence numbers on SYN or RST are not trusted */
  } else if ((flags & FIN) && e->last_seq == e->start_seq + 1) {
    if (last_seq < e->last_seq) e->seq_wraps++;
    e->last_seq = last_seq;
  } else if (e->state == RESET) {
    /* nothing after a RST is trusted */
  } else if (delta > 0) {
    if (last_seq < e->last_seq) e->seq_wraps++;
    e->last_seq = last_seq;
  } else if (len > 0) {
    ep_more(tracker, c, e, &e->retransmits, &e->retransmit_threshold, 'T');
  }
}

/* Moves the endpoint states; true when this segment closes the sender's side. */
static bool update_state_machine(struct np_tracker *tracker, struct conn *c, struct endpoint *e, struct endpoint *peer, int flags, uint32_t seq, int32_t len, bool is_orig) {
  bool syn = flags & SYN, fin = flags & FIN, rst = flags & RST, ack = flags & ACK;
  bool do_close = false;
  switch (e->state) {
    case INACTIVE:
      if (syn) {
        if (is_orig) {
          set_state(e, ack ? SYN_ACK_SENT : SYN_SENT);
        } else {
          if (!ack && peer->state == SYN_ACK_SENT && seq == e->start_seq) {
            flip_roles(tracker, c);
            set_state(peer, ESTABLISHED);
          }
          if (peer->state == SYN_SENT) set_state(peer, ESTABLISHED);
          set_state(e, ESTABLISHED);
        }
      }
      if (fin) {
        set_state(e, CLOSED);
        do_close = true;
      }
      if (rst) {
        set_state(e, RESET);
        do_close = true;
      }
      if (e->state == INACTIVE) {
        if (!is_orig && len == 0 && orig_ep(c)->state == SYN_SENT) {
          /* an ACK of the initial SYN before the SYN-ACK: not yet partial */
        } else if (ack && peer->state == ESTABLISHED) {
          set_state(e, ESTABLISHED);
        } else {
          set_state(e, PARTIAL);
        }
      }
      break;
    case SYN_SENT:
    case SYN_ACK_SENT:
      if (fin) {
        set_state(e, CLOSED);
        do_close = true;
      }
      if (rst) {
        set_state(e, RESET);
        do_close = true;
      }
      break;
    case ESTABLISHED:
    case PARTIAL:
      if (syn && e->state == PARTIAL && peer->state == INACTIVE && !ack) set_state(e, SYN_SENT);
      if (fin && !rst) {
        set_state(e, CLOSED);
        if (peer->state == RESET && peer->prev_state == CLOSED) set_state(peer, CLOSED);
        do_close = true;
      }
      if (rst) {
        set_state(e, RESET);
        do_close = true;
      }
      break;
    case CLOSED:
      if (rst && peer->state != CLOSED) {
        set_state(e, RESET);
        if (!e->did_close) do_close = true;
      }
      break;
    case RESET:
      break;
  }
  return do_close;
}

/* One segment from the originator (`is_orig`) or the responder; returns STEP_ bits (tcp.ts step). */
static int tcp_step(struct np_tracker *tracker, struct conn *c, bool is_orig, const struct packet *p) {
  struct endpoint *e = is_orig ? orig_ep(c) : resp_ep(c);
  struct endpoint *peer = peer_of(c, e);
  int flags = p->flags;
  bool syn = flags & SYN, fin = flags & FIN, rst = flags & RST, ack = flags & ACK;
  int32_t len = p->payload_len;

  int64_t seg_len = (int64_t)len + syn + fin;
  if (rst) seg_len -= len;
  uint32_t seq_one_past = (uint32_t)(p->seq + (uint32_t)seg_len);

  init_endpoint(e, syn, p->seq, seq_one_past);
  int64_t rel_seq = relative_seq(e, p->seq, e->last_seq, e->seq_wraps);
  bool underflow = rel_seq < 0;

  update_history(tracker, c, e, flags, rel_seq, len);
  if (p->window == 0 && !rst && peer->state != CLOSED && e->state != RESET) ep_more(tracker, c, e, &e->zero_windows, &e->zero_window_threshold, 'W');
  bool touch = !orig_ep(c)->did_close || !resp_ep(c)->did_close;

  if (fin) {
    e->fin_count++;
    e->fin_seq = rel_seq + seg_len;
  }

  int64_t rel_ack = 0;
  if (ack) {
    if (peer->state == INACTIVE) {
      rel_ack = 1;
      peer->start_seq = peer->ack_seq = peer->last_seq = p->ack - 1;
    } else {
      rel_ack = relative_seq(peer, p->ack, peer->ack_seq, peer->ack_wraps);
      if (rel_ack < 0) rel_ack = 0;
      else if (!rst) update_ack_seq(peer, p->ack);
    }
  }

  update_last_seq(tracker, c, e, seq_one_past, flags, len);
  bool do_close = update_state_machine(tracker, c, e, peer, flags, p->seq, len, is_orig);

  if (ack) ack_received(tracker, c, peer, rel_ack, fin || rst);
  if (len > 0 && !rst && !underflow) data_sent(tracker, e, syn ? rel_seq + 1 : rel_seq, len);

  int result = touch ? STEP_TOUCH : 0;
  if (do_close && !e->did_close) {
    e->did_close = true;
    if (e->state == RESET || peer->did_close || peer->state == INACTIVE) result |= STEP_CLOSE_COMPLETE;
  }
  return result;
}

/* tcp.ts tcpConnState; RSTOS0 needs the history to match ^\^?S[^HAFGIQ]*R */
static bool syn_then_reset(const struct conn *c) {
  uint32_t i = 0;
  if (i < c->history_len && c->history[i] == '^') i++;
  if (i >= c->history_len || c->history[i] != 'S') return false;
  for (i++; i < c->history_len; i++) {
    char h = c->history[i];
    if (h == 'R') return true;
    if (strchr("HAFGIQ", h)) return false;
  }
  return false;
}

static const char *tcp_conn_state(struct conn *c) {
  struct endpoint *orig = orig_ep(c), *resp = resp_ep(c);
  int os = orig->state, rs = resp->state;
  bool o_inactive = os == INACTIVE || os == PARTIAL;
  bool r_inactive = rs == INACTIVE || rs == PARTIAL;
  if (rs == RESET) {
    if (os == SYN_SENT || os == SYN_ACK_SENT || (os == RESET && ep_size(c, orig) == 0 && ep_size(c, resp) == 0)) return "REJ";
    return o_inactive ? "RSTRH" : "RSTR";
  }
  if (os == RESET) {
    if (r_inactive) return syn_then_reset(c) ? "RSTOS0" : "OTH";
    return "RSTO";
  }
  if (rs == CLOSED && os == CLOSED) return "SF";
  if (os == CLOSED) return r_inactive ? "SH" : "S2";
  if (rs == CLOSED) return o_inactive ? "SHR" : "S3";
  if (os == SYN_SENT && rs == INACTIVE) return "S0";
  if (os == ESTABLISHED && rs == ESTABLISHED) return "S1";
  return "OTH";
}

/* ---- the connection table (tracker.ts) ---- */

static uint32_t mix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

static uint32_t endpoint_hash(const uint32_t *id, int32_t port) {
  uint32_t h = mix(id[0] ^ 0x9e3779b9u);
  h = mix(h ^ id[1]);
  h = mix(h ^ id[2]);
  h = mix(h ^ id[3] ^ ((uint32_t)port << 7));
  return h;
}

/* Direction-free: the endpoint hashes are summed. */
static uint32_t tuple_hash(int protocol, const uint32_t *a, int32_t ap, const uint32_t *b, int32_t bp) {
  return mix(endpoint_hash(a, ap) + endpoint_hash(b, bp) + (uint32_t)protocol);
}

static bool matches(const struct conn *c, int protocol, const uint32_t *src, int32_t sp, const uint32_t *dst, int32_t dp) {
  if (protocol != c->protocol) return false;
  return (same_id(src, c->orig_id) && sp == c->orig_port && same_id(dst, c->resp_id) && dp == c->resp_port) ||
         (same_id(src, c->resp_id) && sp == c->resp_port && same_id(dst, c->orig_id) && dp == c->orig_port);
}

static bool grow_table(struct np_tracker *tracker) {
  uint32_t size = (tracker->bucket_mask + 1) * 2;
  struct conn **buckets = calloc(size, sizeof *buckets);
  if (!buckets) return false;
  for (uint32_t i = 0; i <= tracker->bucket_mask; i++) {
    for (struct conn *c = tracker->buckets[i], *next; c; c = next) {
      next = c->bucket_next;
      c->bucket_next = buckets[c->hash & (size - 1)];
      buckets[c->hash & (size - 1)] = c;
    }
  }
  free(tracker->buckets);
  tracker->buckets = buckets;
  tracker->bucket_mask = size - 1;
  return true;
}

static void table_add(struct np_tracker *tracker, struct conn *c) {
  if (tracker->open >= tracker->bucket_mask && !grow_table(tracker)) tracker->failed = -1; /* chains grow longer; still correct */
  struct conn **bucket = &tracker->buckets[c->hash & tracker->bucket_mask];
  c->bucket_next = *bucket;
  *bucket = c;
  c->older = tracker->newest;
  c->newer = NULL;
  if (tracker->newest) tracker->newest->newer = c;
  else tracker->oldest = c;
  tracker->newest = c;
  tracker->open++;
}

static void table_remove(struct np_tracker *tracker, struct conn *c) {
  for (struct conn **at = &tracker->buckets[c->hash & tracker->bucket_mask]; *at; at = &(*at)->bucket_next) {
    if (*at == c) {
      *at = c->bucket_next;
      break;
    }
  }
  if (tracker->hand == c) tracker->hand = c->older;
  if (c->older) c->older->newer = c->newer;
  else tracker->oldest = c->newer;
  if (c->newer) c->newer->older = c->older;
  else tracker->newest = c->older;
  tracker->open--;
}

static void free_conn(struct conn *c, bool with_history) {
  if (with_history) free(c->history);
  free(c->ep[0].ranges);
  free(c->ep[1].ranges);
  free(c);
}

/* Moves the finished queue to the start of its array. */
static void compact_finished(struct np_tracker *tracker) {
  tracker->finished_len -= tracker->finished_head;
  memmove(tracker->finished, tracker->finished + tracker->finished_head, tracker->finished_len * sizeof *tracker->finished);
  tracker->finished_head = 0;
}

/* Retires `c`: its record joins the finished list (with its history), and the connection is freed. */
static void finish(struct np_tracker *tracker, struct conn *c) {
  table_remove(tracker, c);
  if (tracker->finished_len == tracker->finished_cap && tracker->finished_head > 0) compact_finished(tracker);
  if (tracker->finished_len == tracker->finished_cap) {
    size_t cap = tracker->finished_cap ? tracker->finished_cap * 2 : 256;
    struct np_flow_record *grown = realloc(tracker->finished, cap * sizeof *grown);
    if (!grown) {
      tracker->failed = -1;
      free_conn(c, true);
      return;
    }
    tracker->finished = grown;
    tracker->finished_cap = cap;
  }
  struct np_flow_record *r = &tracker->finished[tracker->finished_len++];
  memset(r, 0, sizeof *r);
  r->no = c->no;
  r->protocol = c->protocol;
  r->ip_version = c->ip_version;
  memcpy(r->orig_addr, c->orig_id, sizeof r->orig_addr);
  memcpy(r->resp_addr, c->resp_id, sizeof r->resp_addr);
  r->orig_port = c->orig_port;
  r->resp_port = c->resp_port;
  r->id_orig_port = c->has_id_ports ? c->id_ports[0] : c->orig_port;
  r->id_resp_port = c->has_id_ports ? c->id_ports[1] : c->resp_port;
  r->start = c->start_exact;
  r->last = c->last_exact;
  r->duration_ns = c->last_exact - c->start_exact;
  if (c->tcp) {
    r->orig_bytes = ep_size(c, orig_ep(c));
    r->resp_bytes = ep_size(c, resp_ep(c));
    r->conn_state = tcp_conn_state(c);
  } else {
    bool orig_active = c->orig_size >= 0, resp_active = c->resp_size >= 0;
    r->orig_bytes = orig_active ? c->orig_size : 0;
    r->resp_bytes = resp_active ? c->resp_size : 0;
    r->conn_state = c->protocol != 17 ? "OTH" : orig_active ? (resp_active ? "SF" : "S0") : resp_active ? "SHR" : "OTH";
  }
  r->missed_bytes = c->missed_bytes;
  r->orig_pkts = c->orig_pkts;
  r->orig_ip_bytes = c->orig_ip_bytes;
  r->resp_pkts = c->resp_pkts;
  r->resp_ip_bytes = c->resp_ip_bytes;
  r->orig_l2 = c->orig_l2;
  r->resp_l2 = c->resp_l2;
  r->history = c->history;
  r->history_len = c->history_len;
  free_conn(c, false);
}

/* Zeek's DNS session timer (tracker.ts nextDnsExpiry). */
static double next_dns_expiry(double start_t, double last_t) {
  double period = 10 * SECOND;
  double tick = start_t + period;
  if (tick - last_t < period - SECOND) tick += period * ceil((last_t + period - SECOND - tick) / period);
  return tick;
}

static double next_expire_tick(double start_t, double last_t) {
  double first = start_t + TCP_SYN_TIMEOUT;
  double due = last_t + TCP_LINGER;
  if (first > due) return first;
  return first + TCP_SESSION_TIMER * (floor((due - first) / TCP_SESSION_TIMER) + 1);
}

static bool handshaking(int s) { return s == INACTIVE || s == SYN_SENT || s == SYN_ACK_SENT; }

/* Would one of Zeek's timers have removed `c` by time `t`? */
static bool expired(struct conn *c, double t) {
  if (t < c->last_t + TCP_ATTEMPT && t < c->start_t + TCP_ATTEMPT) return false;
  if (c->app == APP_DNS && t >= next_dns_expiry(c->start_t, c->last_t)) return true;
  if (!c->tcp) return t >= c->last_t + (c->protocol == 17 ? UDP_INACTIVITY : OTHER_INACTIVITY);
  if (c->closed && t >= c->closed_at + TCP_CLOSE) return true;
  struct endpoint *orig = orig_ep(c), *resp = resp_ep(c);
  if ((orig->state == SYN_SENT || orig->state == SYN_ACK_SENT) && resp->state == INACTIVE) return t >= c->start_t + TCP_ATTEMPT;
  if (!handshaking(orig->state) || !handshaking(resp->state)) {
    if (t >= c->last_t + TCP_INACTIVITY) return true;
  }
  if ((orig->did_close || resp->did_close) && (orig->state == RESET || resp->state == RESET || orig->state == INACTIVE || resp->state == INACTIVE)) {
    return t >= next_expire_tick(c->start_t, c->last_t);
  }
  return false;
}

/* Zeek's TCP reuse rule: a new initial SYN on a 5-tuple that has a connection. */
static bool is_reuse(struct conn *c, const struct packet *p) {
  if (!c->tcp || !(p->flags & SYN)) return false;
  struct endpoint *orig = orig_ep(c), *resp = resp_ep(c);
  struct endpoint *conn_orig = orig;
  if (p->flags & ACK) {
    if (orig->state != INACTIVE) return false;
    conn_orig = resp;
  }
  if (!(orig->did_close && resp->did_close)) {
    if (p->seq == conn_orig->start_seq) return false;
    if (!(p->flags & ACK) && conn_orig->state == SYN_ACK_SENT && resp->state == INACTIVE && p->seq == resp->start_seq) return false;
  }
  return true;
}

static void sweep(struct np_tracker *tracker, double t) {
  tracker->next_sweep = t + SWEEP_EVERY;
  for (struct conn *c = tracker->oldest, *newer; c; c = newer) {
    newer = c->newer;
    if (expired(c, t)) finish(tracker, c);
  }
}

/*
 * With max_open connections open, one goes before another is made, as under the memory cap of
 * Suricata's flow engine: the first the clock hand finds that Zeek's timers have already
 * expired, else the first without a packet since the hand last passed it (one that had packets
 * gets another lap). Creation order is kept: the hand moves, the connections do not. Twin:
 * tracker.ts makeRoom.
 */
static void make_room(struct np_tracker *tracker, double t) {
  for (;;) {
    struct conn *c = tracker->hand ? tracker->hand->newer : tracker->oldest;
    if (!c) c = tracker->oldest;
    if (!c) return;
    tracker->hand = c;
    if (expired(c, t)) {
      finish(tracker, c);
      return;
    }
    if (c->touched) {
      c->touched = false;
      continue;
    }
    tracker->evicted++;
    finish(tracker, c);
    return;
  }
}

static struct conn *create(struct np_tracker *tracker, uint32_t hash, const struct packet *p, int32_t src_port, int32_t dst_port, int32_t raw_src_port, int32_t raw_dst_port) {
  struct conn *c = calloc(1, sizeof *c);
  if (!c) {
    tracker->failed = -1;
    return NULL;
  }
  c->no = tracker->created++;
  c->hash = hash;
  c->protocol = p->protocol;
  c->ip_version = p->ip_version;
  memcpy(c->orig_id, p->src, sizeof c->orig_id);
  memcpy(c->resp_id, p->dst, sizeof c->resp_id);
  memcpy(c->first_id, p->src, sizeof c->first_id);
  c->orig_port = c->first_port = src_port;
  c->resp_port = dst_port;
  c->orig_size = c->resp_size = -1;
  c->start_t = c->last_t = p->t;
  c->start_exact = c->last_exact = p->exact;
  c->tcp = p->protocol == 6;
  ep_init(&c->ep[0]);
  ep_init(&c->ep[1]);
  c->dns_first_message = true;
  c->orig_l2 = p->mac_src;
  c->resp_l2 = p->mac_dst;
  if (p->protocol == 132) {
    c->has_id_ports = true;
    c->id_ports[0] = raw_src_port;
    c->id_ports[1] = raw_dst_port;
  }
  bool flip = false;
  if (p->protocol == 6) {
    bool partial = !(p->flags & SYN) || (p->flags & ACK);
    if (partial && likely_server_port(6, src_port)) flip = likely_server_port(6, dst_port) ? !(p->flags & SYN) && src_port < dst_port : true;
    if ((p->flags & (SYN | ACK)) == (SYN | ACK)) flip = true;
  } else if (p->protocol == 17) {
    flip = likely_server_port(17, src_port) && !likely_server_port(17, dst_port);
  }
  if (flip && !is_broadcast(c->ip_version, c->resp_id)) flip_roles(tracker, c);
  if (p->protocol == 17) {
    int32_t port = c->resp_port;
    c->app = port == 53 || port == 137 || port == 5353 || port == 5355 ? APP_DNS : port == 123 ? APP_NTP : APP_NONE;
  }
  return c;
}

/* DNS and NTP analyzers flip a connection whose messages show the roles reversed. */
static void application_flip(struct np_tracker *tracker, struct conn *c, const struct packet *p, bool is_orig) {
  if (p->app_head < 0) return;
  if (c->app == APP_DNS && c->dns_first_message && p->payload_len >= 12) {
    c->dns_first_message = false;
    bool is_response = (p->app_head & 0x80) != 0;
    if (is_response && is_orig && !is_multicast(c->ip_version, c->resp_id)) flip_roles(tracker, c);
  } else if (c->app == APP_NTP && p->payload_len >= 48) {
    int mode = (p->app_head >> 16) & 0x07;
    if ((mode == 4 && is_orig) || (mode == 3 && !is_orig)) flip_roles(tracker, c);
  }
}

static void deliver(struct np_tracker *tracker, struct conn *c, const struct packet *p, bool is_orig) {
  if (c->tcp) {
    int result = tcp_step(tracker, c, is_orig, p);
    if (result & STEP_TOUCH) {
      c->last_t = p->t;
      c->last_exact = p->exact;
    }
    if ((result & STEP_CLOSE_COMPLETE) && !c->closed) {
      c->closed = true;
      c->closed_at = c->last_t;
    }
  } else if (p->protocol == 17) {
    int64_t length = (p->udp_length ? p->udp_length : p->l4_len) - 8;
    datagram(tracker, c, is_orig, length > 0 ? length : 0, p, 'D');
    application_flip(tracker, c, p, is_orig);
  } else {
    datagram(tracker, c, is_orig, c->protocol == 1 || c->protocol == 58 ? p->payload_len : 0, p, 0);
  }
  /* ConnSize sees the packet after the others, with the sender as it was before any flip. */
  if (is_orig) {
    c->orig_pkts++;
    c->orig_ip_bytes += p->ip_len;
  } else {
    c->resp_pkts++;
    c->resp_ip_bytes += p->ip_len;
  }
}

/* What a packet's connection is keyed by: IP version, protocol, addresses (IPv4 in word 0), ports. */
static void read_key(const struct np_track_columns *k, uint32_t i, struct packet *p) {
  p->ip_version = k->ip_version[i];
  p->protocol = k->protocol[i];
  for (int w = 0; w < 4; w++) {
    p->src[w] = p->ip_version == 6 || w == 0 ? k->src[w][i] : 0;
    p->dst[w] = p->ip_version == 6 || w == 0 ? k->dst[w][i] : 0;
  }
  p->src_port = k->src_port[i];
  p->dst_port = k->dst_port[i];
}

static void read_packet(const struct np_track_columns *k, uint32_t i, struct packet *p) {
  read_key(k, i, p);
  p->t = k->tf[i];
  p->exact = k->t[i];
  p->flags = k->tcp_flags[i];
  p->seq = k->seq[i];
  p->ack = k->ack[i];
  p->window = k->window[i];
  p->ip_len = k->ip_len[i];
  p->l4_len = k->l4_len[i];
  p->payload_len = k->payload_len[i];
  p->udp_length = k->udp_length[i];
  p->app_head = k->app_head[i];
  p->bad_checksum = k->bad_checksum[i] == 1;
  p->mac_src = k->mac_src[i];
  p->mac_dst = k->mac_dst[i];
}

/* The packet's ports as connections are keyed (ICMP's type and code in their place; none for protocols without), and its tuple's hash. */
static uint32_t packet_key(const struct np_track_columns *k, uint32_t i, const struct packet *p, int32_t *src_port, int32_t *dst_port) {
  *src_port = p->src_port;
  *dst_port = p->dst_port;
  if (p->protocol == 1 || p->protocol == 58) icmp_ports(p->protocol, k->icmp_type[i], k->icmp_code[i], src_port, dst_port);
  else if (!is_ported(p->protocol)) *src_port = *dst_port = 0;
  return tuple_hash(p->protocol, p->src, *src_port, p->dst, *dst_port);
}

/*
 * Connections are scattered in memory and a packet's is rarely in cache: waiting for it was half
 * of the time per packet. So the bucket of the packet PREFETCH rows ahead is fetched early, and
 * the connection it leads to half as far ahead.
 */
#define PREFETCH 8

static void prefetch_bucket(const struct np_tracker *tracker, const struct np_track_columns *k, uint32_t i, uint32_t *hashes) {
  struct packet p;
  int32_t src_port, dst_port;
  read_key(k, i, &p);
  hashes[i % PREFETCH] = packet_key(k, i, &p, &src_port, &dst_port);
  __builtin_prefetch(&tracker->buckets[hashes[i % PREFETCH] & tracker->bucket_mask]);
}

static void prefetch_conn(const struct np_tracker *tracker, uint32_t hash) {
  const struct conn *c = tracker->buckets[hash & tracker->bucket_mask];
  if (!c) return;
  for (size_t line = 0; line < sizeof *c; line += 64) __builtin_prefetch((const char *)c + line);
}

/* One packet (tracker.ts ConnTracker.packet); returns its connection or NULL. */
static struct conn *track_packet(struct np_tracker *tracker, const struct np_track_columns *k, uint32_t i, struct np_track_hit *hit) {
  struct packet p;
  read_packet(k, i, &p);
  if (p.t >= tracker->next_sweep) sweep(tracker, p.t);

  int32_t src_port, dst_port;
  uint32_t hash = packet_key(k, i, &p, &src_port, &dst_port);
  struct conn *c = tracker->buckets[hash & tracker->bucket_mask];
  while (c && !(c->hash == hash && matches(c, p.protocol, p.src, src_port, p.dst, dst_port))) c = c->bucket_next;
  if (c && (expired(c, p.t) || is_reuse(c, &p))) {
    finish(tracker, c);
    c = NULL;
  }
  if (!c) {
    if (tracker->open >= tracker->max_open) make_room(tracker, p.t);
    c = create(tracker, hash, &p, src_port, dst_port, p.src_port, p.dst_port);
    if (!c) return NULL;
    table_add(tracker, c);
  }
  bool is_orig = is_orig_sender(c, p.src, src_port);
  c->packets++;
  c->touched = true;
  if (p.bad_checksum && (p.protocol == 6 || p.protocol == 17)) check_history(tracker, c, H_BAD_CHECKSUM, 'C', is_orig);
  else deliver(tracker, c, &p, is_orig);
  hit->flow_no = c->no;
  hit->is_orig = is_orig_sender(c, p.src, src_port);
  hit->is_new = c->packets == 1;
  hit->ip_version = c->ip_version;
  memcpy(hit->resp_addr, c->resp_id, sizeof hit->resp_addr);
  hit->resp_port = c->resp_port;
  k->from_first_sender[i] = same_id(p.src, c->first_id) && src_port == c->first_port;
  if (k->is_orig) k->is_orig[i] = (uint8_t)hit->is_orig;
  if (k->resp_port) k->resp_port[i] = c->resp_port;
  return c;
}

uint32_t np_track_rows(struct np_tracker *tracker, const struct np_track_columns *k, uint32_t from, uint32_t to, struct np_track_hit *hit) {
  if (to > k->capacity) to = k->capacity;
  uint32_t hashes[PREFETCH];
  for (uint32_t i = from; i < to; i++) {
    if (i + PREFETCH < to) prefetch_bucket(tracker, k, i + PREFETCH, hashes);
    if (i + PREFETCH / 2 < to && i + PREFETCH / 2 >= from + PREFETCH) prefetch_conn(tracker, hashes[(i + PREFETCH / 2) % PREFETCH]);
    hit->flow_no = -1;
    bool fragment = k->fragment[i] == 1;
    if (fragment && k->datagram[i] >= 0) return i;
    if (k->ip_version[i] == 0 || fragment || k->frag_offset[i] != 0 || k->broken[i] == 1 || !track_packet(tracker, k, i, hit)) {
      k->flow_no[i] = -1;
      k->from_first_sender[i] = 2;
      continue;
    }
    k->flow_no[i] = hit->flow_no;
  }
  return to;
}

struct np_tracker *np_track_new(uint32_t max_open) {
  struct np_tracker *tracker = calloc(1, sizeof *tracker);
  if (!tracker) return NULL;
  tracker->max_open = max_open ? max_open : 1;
  tracker->bucket_mask = 1023;
  tracker->buckets = calloc(tracker->bucket_mask + 1, sizeof *tracker->buckets);
  if (!tracker->buckets) {
    free(tracker);
    return NULL;
  }
  return tracker;
}

size_t np_track_finish_oldest(struct np_tracker *tracker, size_t max) {
  size_t retired = 0;
  for (; retired < max && tracker->oldest; retired++) finish(tracker, tracker->oldest);
  return retired;
}

const struct np_flow_record *np_track_finished(const struct np_tracker *tracker, size_t *count) {
  *count = tracker->finished_len - tracker->finished_head;
  return tracker->finished + tracker->finished_head;
}

/*
 * The queue's head moves on; the array is compacted only when the next retirement needs its room,
 * so clearing costs nothing per flow left (a memmove of the rest each time made draining 2,000,000
 * flows at the end quadratic: seconds).
 */
void np_track_clear_finished(struct np_tracker *tracker, size_t count) {
  size_t left = tracker->finished_len - tracker->finished_head;
  if (count > left) count = left;
  for (size_t i = 0; i < count; i++) free(tracker->finished[tracker->finished_head + i].history);
  tracker->finished_head += count;
  if (tracker->finished_head == tracker->finished_len) tracker->finished_head = tracker->finished_len = 0;
}

int np_track_failed(const struct np_tracker *tracker) { return tracker->failed; }

int64_t np_track_evicted(const struct np_tracker *tracker) { return tracker->evicted; }

void np_track_free(struct np_tracker *tracker) {
  if (!tracker) return;
  while (tracker->oldest) {
    struct conn *c = tracker->oldest;
    table_remove(tracker, c);
    free_conn(c, true);
  }
  np_track_clear_finished(tracker, SIZE_MAX);
  free(tracker->finished);
  free(tracker->buckets);
  free(tracker);
}
