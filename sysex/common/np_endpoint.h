/*
 * Platform-free pieces of the endpoint sensors, compiled and tested on Linux, used by the macOS
 * system extension (ES client, packet filter, content filter) and the Linux sensor alike:
 *   - audit tokens decoded from their raw bytes into the process key `pid.pidversion`;
 *   - sequence-number gap accounting (ES global_seq_num), turned into loss counts;
 *   - one locked table of live processes and flows, so a packet or a flow can be enriched with
 *     process facts that another callback saw first (the handlers run on several threads);
 *   - a packet's 5-tuple, to find its flow in that table.
 */
#ifndef NP_ENDPOINT_H
#define NP_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

/* audit_token_t is eight 32-bit words, in this order (bsm/libbsm.h audit_token_to_*). */
typedef struct {
    uint32_t auid, euid, egid, ruid, rgid, pid, asid, pidversion;
} np_audit_token;

/* Decodes the 32 raw bytes of an audit_token_t (host byte order). */
np_audit_token np_audit_token_decode(const uint8_t raw[32]);

/* Writes "pid.pidversion" (NUL-terminated) into out; returns its length, or -1 if it does not fit. */
int np_process_key(const np_audit_token *token, char *out, size_t cap);

/* Counts messages missing from a sequence that should grow by one each time. */
typedef struct {
    int started;
    uint64_t last;
    uint64_t lost;      /* total missing so far */
    uint64_t reordered; /* numbers at or below one already seen */
} np_sequence;

/* Observes one sequence number; returns how many were skipped just before it (0 if none). */
uint64_t np_sequence_observe(np_sequence *s, uint64_t seq);

/* The table. Keys and names are copied in; lookups copy out, so nothing escapes the lock. */
#define NP_KEY_MAX 48
#define NP_PATH_MAX 256
#define NP_ADDR_MAX 46

typedef struct {
    char key[NP_KEY_MAX];
    uint32_t pid;
    char path[NP_PATH_MAX];
    char signing_id[NP_PATH_MAX];
} np_process_info;

typedef struct {
    uint8_t protocol;
    char local_addr[NP_ADDR_MAX];
    uint16_t local_port;
    char remote_addr[NP_ADDR_MAX];
    uint16_t remote_port;
} np_tuple;

/* Filled from C strings (cut to fit, NULL as empty): callers in other languages need not touch the arrays. */
np_process_info np_process_info_make(const char *key, uint32_t pid, const char *path, const char *signing_id);
np_tuple np_tuple_make(uint8_t protocol, const char *local_addr, uint16_t local_port, const char *remote_addr, uint16_t remote_port);

typedef struct np_table np_table;

np_table *np_table_new(size_t process_capacity, size_t flow_capacity);
void np_table_free(np_table *t);

/* A process started (or was first seen). Replaces an entry with the same key. Returns 0, or -1 when full. */
int np_table_put_process(np_table *t, const np_process_info *p);
/* The process exited: its entry goes, so a reused pid never finds it. */
void np_table_remove_process(np_table *t, const char *key);
/* The live process with this pid (the latest instance), copied into out; 0 if found, -1 if not. */
int np_table_process_by_pid(np_table *t, uint32_t pid, np_process_info *out);

/*
 * A flow opened by the process `process_key` (empty when the system named none). Returns 0 for a
 * new flow, 1 when it replaced one with the same id (the content filter sees a flow again once
 * its endpoints are known: 1 says it was recorded already), -1 when full.
 */
int np_table_put_flow(np_table *t, const char *flow_id, const char *process_key, const np_tuple *tuple);
void np_table_remove_flow(np_table *t, const char *flow_id);
/* The flow with this id: its process key and tuple copied out (either may be NULL); 0 if found, -1 if not. */
int np_table_flow_by_id(np_table *t, const char *flow_id, char process_key[NP_KEY_MAX], np_tuple *tuple);
/* The process key of the flow whose tuple matches a packet's, in either direction; 0 if found. */
int np_table_flow_process(np_table *t, const np_tuple *packet, char process_key[NP_KEY_MAX]);

/*
 * A packet's 5-tuple, for np_table_flow_process: the bytes as the capture gives them, framed by
 * `link_type` (1 Ethernet with VLAN tags, 0 BSD loopback, 101 raw IP). Source goes to local,
 * destination to remote (the table matches either way). IPv4 and IPv6 (extension headers
 * skipped); ports for TCP and UDP, 0 for other protocols and for non-first IPv4 fragments.
 * Returns 0, or -1 if the bytes are not an IP packet or are cut short.
 */
int np_packet_tuple(const uint8_t *bytes, size_t len, int link_type, np_tuple *out);

/*
 * The link type (1 Ethernet, 0 BSD loopback, 101 raw IP) of an interface's packets, from its
 * `sdl_type` (net/if_types.h, from getifaddrs' AF_LINK entry; 0 when unknown) and the first packet
 * seen on it. Ethernet-like types (Ethernet, Wi-Fi, VLAN, bond, bridge) are Ethernet; for every
 * other type the packet decides, because what the packet filter hands over for a tunnel (utun,
 * ipsec: IFT_OTHER) or a cellular interface is not documented: an IPv4/IPv6 version nibble means
 * raw IP, a 4-byte AF_INET/AF_INET6 header (either byte order) means BSD loopback framing.
 */
int np_link_type(uint8_t sdl_type, const uint8_t *first_packet, size_t len);

#endif
