/*
 * Connection tracking in C: the rules of analyzer/flows/tracker.ts, conn.ts and tcp.ts (Zeek's
 * originator choice, TCP endpoint states, history, sizes from sequence numbers, content gaps,
 * role flips, the timers that retire connections) over a batch's columns. What names a
 * connection or reads its payload (uids, services, TLS and HTTP names, tunnels, DNS rows) stays
 * in TypeScript (analyzer/load/track-native.ts), keyed by the flow number written here.
 *
 * Written because the TypeScript tracker measured ~1.2 µs of a core per packet, most of the
 * tracking thread's 2.5 s for the benchmark's 2,000,000 packets, plus the garbage its connection
 * objects left for the collector's threads on a 2-core machine. The TypeScript tracker stays the
 * reference: test/analyzer/native-tracker.test.ts requires the same flows from both.
 */
#ifndef NP_TRACK_H
#define NP_TRACK_H

#include <stddef.h>
#include <stdint.h>

/* What tracking reads of a batch (analyzer/load/packet-batch.ts), and the columns it fills. */
struct np_track_columns {
  uint32_t capacity;
  const double *tf;
  const int64_t *t;
  const uint8_t *ip_version;
  const int16_t *protocol;
  const uint32_t *src[4], *dst[4];
  const int32_t *src_port, *dst_port, *frag_offset;
  const uint8_t *broken, *bad_checksum;
  const int16_t *icmp_type, *icmp_code, *tcp_flags;
  const uint32_t *seq, *ack;
  const int32_t *window, *ip_len, *l4_len, *payload_len, *udp_length, *app_head;
  const double *mac_src, *mac_dst;
  const uint8_t *fragment;
  const int32_t *datagram;
  int32_t *flow_no;
  uint8_t *from_first_sender;
  /* Where not NULL: per row, sent by the originator as the roles stand after it, and the responder's port then. */
  uint8_t *is_orig;
  int32_t *resp_port;
};

/* Where the last packet tracked landed. */
struct np_track_hit {
  int32_t flow_no; /* -1: the packet forms no connection */
  int32_t is_orig; /* sent by the originator, as the roles stand after it */
  int32_t is_new;  /* the connection's first packet */
  int32_t ip_version;
  uint32_t resp_addr[4];
  int32_t resp_port;
};

/* A retired connection: what the flows table's row needs from tracking (schema.sql). */
struct np_flow_record {
  int32_t no;
  int32_t protocol;
  int32_t ip_version;
  uint32_t orig_addr[4], resp_addr[4];
  int32_t orig_port, resp_port;
  /* The ports the Community ID hashes: the first packet's for SCTP (keyed by addresses only). */
  int32_t id_orig_port, id_resp_port;
  int64_t start, last, duration_ns;
  int64_t orig_bytes, resp_bytes, missed_bytes;
  int64_t orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes;
  double orig_l2, resp_l2;
  const char *conn_state;
  char *history; /* not NUL-terminated; owned by the tracker until np_track_clear_finished */
  uint32_t history_len;
};

struct np_tracker;

/*
 * A tracker holding at most `max_open` connections open at once: beyond, one is retired before
 * another is made — one Zeek's timers have expired, else one idle since a clock hand last passed
 * it (np_track.c make_room; np_track_evicted counts those Zeek's timers had not yet retired), so
 * that memory is bounded whatever the capture (a scan opens a connection a packet).
 */
struct np_tracker *np_track_new(uint32_t max_open);
void np_track_free(struct np_tracker *tracker);

/*
 * Tracks rows [from, to) of `columns`; returns the row it stopped at: `to`, or a row that is the
 * fragment completing a datagram, which the caller tracks as its whole datagram (another set of
 * columns). `hit` describes the last row tracked.
 */
uint32_t np_track_rows(struct np_tracker *tracker, const struct np_track_columns *columns, uint32_t from, uint32_t to, struct np_track_hit *hit);

/*
 * Retires up to `max` open connections, oldest first, as the session's end does to all; returns
 * how many. At the end a caller retires them a group at a time, draining each group, so that
 * the finished records never hold every connection at once.
 */
size_t np_track_finish_oldest(struct np_tracker *tracker, size_t max);

/* Connections retired and not yet cleared, in the order they were retired; NULL on allocation failure. */
const struct np_flow_record *np_track_finished(const struct np_tracker *tracker, size_t *count);
/* Clears the first `count` of them (at most all): the rest stay, first now. */
void np_track_clear_finished(struct np_tracker *tracker, size_t count);

/* Connections retired to stay within max_open before Zeek's timers would have retired them. */
int64_t np_track_evicted(const struct np_tracker *tracker);

/* 0, or -1 once an allocation failed (the tracker then drops what it could not hold). */
int np_track_failed(const struct np_tracker *tracker);

#endif
