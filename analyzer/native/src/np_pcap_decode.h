/*
 * The analyzer's fast path through a classic pcap file, or a pcapng file's enhanced packet blocks
 * with no option but epb_flags: reads the records at the start of a window of the file and, for
 * every packet that is plain — Ethernet (at most two VLAN tags),
 * Linux cooked (SLL, SLL2), raw IP or BSD loopback; IPv4 or IPv6 without extension headers or fragmentation, TCP, UDP or ICMP, no tunnel —
 * writes the columns analyzer/load/decode.ts writes for it, and where its TCP or UDP payload lies
 * (which decode.ts reads for DNS messages and what the content says). It stops at the first record
 * that is not plain, not whole in the window, or whose time is past 2^52 ns from the session
 * start or not before `until_t`: that record is the TypeScript decoder's, as is everything this file does not know.
 *
 * Written because the TypeScript path measured ~1.5 µs of a core per packet (reading the record,
 * a packet event, dissecting, filling the columns): the decoding thread took ~3 s of CPU for the
 * benchmark's 2,000,000 packets, ~1.2 s with this loop (the rest: read(2), DNS messages, payloads
 * for the content reader). It allocates nothing and reads nothing outside the window
 * (test/decode_check.c runs it under AddressSanitizer).
 */
#ifndef NP_PCAP_DECODE_H
#define NP_PCAP_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* The columns of one batch (analyzer/load/packet-batch.ts), each at least `capacity` long. */
struct np_columns {
  uint32_t capacity;
  /* packet_rows */
  int32_t *packet_no;
  int64_t *t;
  int32_t *interface_id;
  uint8_t *direction;
  uint32_t *orig_len;
  int32_t *cap_len;
  uint8_t *ip_version;
  int16_t *protocol;
  int32_t *src_port, *dst_port;
  int16_t *tcp_flags;
  uint32_t *seq, *ack;
  int32_t *ip_len, *payload_len, *process_no, *problem_no;
  /* what connection tracking reads */
  double *tf;
  uint32_t *src[4], *dst[4];
  int32_t *frag_offset;
  uint8_t *broken, *bad_checksum;
  int16_t *icmp_type, *icmp_code;
  int32_t *window, *l4_len, *udp_length, *app_head;
  double *mac_src, *mac_dst;
  uint8_t *fragment;
  int32_t *datagram;
  /* For the content reader, which runs after: the TCP or UDP payload as [payload_at, payload_end) of the window, or -1. */
  int32_t *payload_at, *payload_end;
};

/* The link types read here (libpcap's LINKTYPE_ numbers). */
enum {
  NP_LINK_NULL = 0,
  NP_LINK_ETHERNET = 1,
  NP_LINK_RAW = 101,
  NP_LINK_LOOP = 108,
  NP_LINK_LINUX_SLL = 113,
  NP_LINK_IPV4 = 228,
  NP_LINK_IPV6 = 229,
  NP_LINK_LINUX_SLL2 = 276,
};

/* pcapng's block type of an enhanced packet. */
enum { NP_PCAPNG_ENHANCED_PACKET = 6 };

/*
 * The records' layout and link type, and the session start their times are counted from. A
 * pcap's records; or, `pcapng`, the enhanced packet blocks of one interface (`block_interface`,
 * its number in the section) with no option but epb_flags, their times in µs or (`nanos`) ns:
 * any other block ends the run.
 */
struct np_pcap_format {
  int pcapng;
  int little_endian;
  int nanos;
  int link_type;
  int64_t start_sec, start_nsec;
  int32_t interface_id;
  uint32_t block_interface;
  /* The session time the packets taken come before (another input's next event, in a merge). */
  int64_t until_t;
  /* --verify-checksums: a bad IPv4 header checksum ends the run; a bad transport checksum is marked. */
  int verify_checksums;
};

struct np_pcap_run {
  /* In: the window, and where in it the next record starts. */
  const uint8_t *window;
  size_t pos, end;
  /* In: the batch row the first packet goes to, how many rows are free, the first packet's number. */
  uint32_t row, room;
  int32_t packet_no;
  /* Out: packets written, the offset after the last one, and its own time (for a loss after it). */
  uint32_t packets;
  int64_t last_sec, last_nsec;
};

/* Whether packets of this link type are read here at all (else np_pcap_decode takes none). */
int np_pcap_reads_link_type(int link_type);

/* Decodes plain records from run->pos on into the columns; fills run's outputs. */
void np_pcap_decode(const struct np_pcap_format *format, const struct np_columns *columns, struct np_pcap_run *run);

#endif
