/* Unit tests of np_endpoint.c; run by test/sysex/endpoint.test.ts. Prints one line per check. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../np_endpoint.h"
#include "check.h"

static void audit_tokens(void) {
    uint32_t words[8] = {501, 502, 20, 503, 21, 4242, 100017, 7};
    uint8_t raw[32];
    memcpy(raw, words, sizeof raw);
    np_audit_token t = np_audit_token_decode(raw);
    CHECK(t.auid == 501 && t.euid == 502 && t.egid == 20 && t.ruid == 503 && t.rgid == 21);
    CHECK(t.pid == 4242 && t.asid == 100017 && t.pidversion == 7);
    char key[NP_KEY_MAX];
    CHECK(np_process_key(&t, key, sizeof key) == 6 && strcmp(key, "4242.7") == 0);
    char tiny[4];
    CHECK(np_process_key(&t, tiny, sizeof tiny) == -1);
}

static void sequences(void) {
    np_sequence s = {0};
    CHECK(np_sequence_observe(&s, 100) == 0); /* the first number starts the count */
    CHECK(np_sequence_observe(&s, 101) == 0);
    CHECK(np_sequence_observe(&s, 105) == 3);
    CHECK(np_sequence_observe(&s, 104) == 0 && s.reordered == 1);
    CHECK(np_sequence_observe(&s, 106) == 0);
    CHECK(s.lost == 3 && s.last == 106);
}

static np_process_info process(const char *key, uint32_t pid, const char *path) { return np_process_info_make(key, pid, path, NULL); }

static np_tuple tuple(const char *local, uint16_t lport, const char *remote, uint16_t rport) { return np_tuple_make(6, local, lport, remote, rport); }

static void constructors(void) {
    char long_path[400];
    memset(long_path, 'p', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = 0;
    np_process_info p = np_process_info_make("1.2", 1, long_path, "com.example");
    CHECK(!strcmp(p.key, "1.2") && p.pid == 1 && strlen(p.path) == NP_PATH_MAX - 1 && !strcmp(p.signing_id, "com.example"));
    np_process_info empty = np_process_info_make(NULL, 0, NULL, NULL);
    CHECK(empty.key[0] == 0 && empty.path[0] == 0 && empty.signing_id[0] == 0);
    np_tuple t = np_tuple_make(17, "::1", 53, "2001:db8::1", 5353);
    CHECK(t.protocol == 17 && !strcmp(t.local_addr, "::1") && t.local_port == 53 && !strcmp(t.remote_addr, "2001:db8::1") && t.remote_port == 5353);
}

static void table(void) {
    np_table *t = np_table_new(8, 8);
    np_process_info out;
    CHECK(np_table_put_process(t, &(np_process_info){0}) == 0);
    np_table_remove_process(t, "");
    np_process_info curl = process("4242.21", 4242, "/usr/bin/curl");
    CHECK(np_table_put_process(t, &curl) == 0);
    CHECK(np_table_process_by_pid(t, 4242, &out) == 0 && strcmp(out.path, "/usr/bin/curl") == 0);
    /* pid reuse: curl exits, python gets the pid; a lookup never finds the dead process */
    np_table_remove_process(t, "4242.21");
    CHECK(np_table_process_by_pid(t, 4242, &out) == -1);
    np_process_info python = process("4242.31", 4242, "/usr/bin/python3");
    CHECK(np_table_put_process(t, &python) == 0);
    CHECK(np_table_process_by_pid(t, 4242, &out) == 0 && strcmp(out.key, "4242.31") == 0);
    /* flows: a packet finds its flow's process in either direction */
    np_tuple flow = tuple("192.168.1.20", 50100, "93.184.216.34", 443);
    CHECK(np_table_put_flow(t, "F1C0FFEE-0000-4000-8000-000000000001", "4242.31", &flow) == 0);
    char key[NP_KEY_MAX];
    np_tuple out_packet = tuple("192.168.1.20", 50100, "93.184.216.34", 443);
    np_tuple in_packet = tuple("93.184.216.34", 443, "192.168.1.20", 50100);
    np_tuple other = tuple("192.168.1.20", 50101, "93.184.216.34", 443);
    CHECK(np_table_flow_process(t, &out_packet, key) == 0 && strcmp(key, "4242.31") == 0);
    CHECK(np_table_flow_process(t, &in_packet, key) == 0 && strcmp(key, "4242.31") == 0);
    CHECK(np_table_flow_process(t, &other, key) == -1);
    /* the same flow again, endpoints now known: replaced, and said so */
    CHECK(np_table_put_flow(t, "F1C0FFEE-0000-4000-8000-000000000001", "4242.31", &flow) == 1);
    np_tuple stored;
    CHECK(np_table_flow_by_id(t, "F1C0FFEE-0000-4000-8000-000000000001", key, &stored) == 0 && strcmp(key, "4242.31") == 0 &&
          stored.remote_port == 443 && strcmp(stored.remote_addr, "93.184.216.34") == 0);
    CHECK(np_table_flow_by_id(t, "F1C0FFEE-0000-4000-8000-000000000002", NULL, NULL) == -1);
    np_table_remove_flow(t, "F1C0FFEE-0000-4000-8000-000000000001");
    CHECK(np_table_flow_by_id(t, "F1C0FFEE-0000-4000-8000-000000000001", NULL, NULL) == -1);
    CHECK(np_table_flow_process(t, &out_packet, key) == -1);
    /* capacity: full tables refuse, they do not overwrite */
    for (int i = 0; i < 8; i++) {
        char id[16];
        snprintf(id, sizeof id, "f%d", i);
        CHECK(np_table_put_flow(t, id, "1.1", &flow) == 0);
    }
    CHECK(np_table_put_flow(t, "one-too-many", "1.1", &flow) == -1);
    np_table_free(t);
}

/* Several threads put, look up and remove at once, as the packet and flow handlers do. */
static np_table *shared;
static void *worker(void *arg) {
    int base = *(int *)arg;
    for (int i = 0; i < 20000; i++) {
        char k[NP_KEY_MAX];
        snprintf(k, sizeof k, "%d.%d", base, i);
        np_process_info p = process(k, (uint32_t)base, "/bin/worker");
        np_process_info out;
        if (np_table_put_process(shared, &p) != 0) return (void *)1;
        if (np_table_process_by_pid(shared, (uint32_t)base, &out) != 0 || out.pid != (uint32_t)base) return (void *)1;
        np_table_remove_process(shared, k);
    }
    return NULL;
}

static void concurrency(void) {
    shared = np_table_new(64, 4);
    pthread_t threads[4];
    int bases[4] = {1, 2, 3, 4};
    for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, worker, &bases[i]);
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        void *result;
        pthread_join(threads[i], &result);
        ok = ok && result == NULL;
    }
    CHECK(ok);
    np_process_info out;
    for (uint32_t pid = 1; pid <= 4; pid++) CHECK(np_table_process_by_pid(shared, pid, &out) == -1);
    np_table_free(shared);
}

/* Bytes of real packets, built by hand from their RFC layouts. */
static void packet_tuples(void) {
    /* Ethernet, one 802.1Q tag, IPv4 10.0.0.1:40000 -> 93.184.216.34:443 TCP. */
    uint8_t eth[14 + 4 + 20 + 20] = {0};
    eth[12] = 0x81, eth[13] = 0x00, eth[16] = 0x08, eth[17] = 0x00;
    uint8_t *ip = eth + 18;
    ip[0] = 0x45, ip[9] = 6;
    memcpy(ip + 12, (uint8_t[]){10, 0, 0, 1}, 4);
    memcpy(ip + 16, (uint8_t[]){93, 184, 216, 34}, 4);
    ip[20] = 40000 >> 8, ip[21] = 40000 & 0xff, ip[22] = 443 >> 8, ip[23] = 443 & 0xff;
    np_tuple t;
    CHECK(np_packet_tuple(eth, sizeof eth, 1, &t) == 0);
    CHECK(t.protocol == 6 && !strcmp(t.local_addr, "10.0.0.1") && t.local_port == 40000 && !strcmp(t.remote_addr, "93.184.216.34") && t.remote_port == 443);
    CHECK(np_packet_tuple(eth, 18 + 20 + 3, 1, &t) == -1); /* cut inside the ports */
    ip[6] = 0x00, ip[7] = 0xb9;                            /* a later fragment: no ports in it */
    CHECK(np_packet_tuple(eth, sizeof eth, 1, &t) == 0 && t.local_port == 0 && t.remote_port == 0);

    /* BSD loopback (family word), IPv6 ::1 -> ::1, hop-by-hop options, then UDP 5353 -> 53. */
    uint8_t lo[4 + 40 + 8 + 8] = {30, 0, 0, 0};
    uint8_t *ip6 = lo + 4;
    ip6[0] = 0x60, ip6[6] = 0 /* hop-by-hop */, ip6[23] = 1, ip6[39] = 1;
    ip6[40] = 17 /* next: UDP */, ip6[41] = 0 /* 8 bytes */;
    ip6[48] = 5353 >> 8, ip6[49] = 5353 & 0xff, ip6[50] = 0, ip6[51] = 53;
    CHECK(np_packet_tuple(lo, sizeof lo, 0, &t) == 0);
    CHECK(t.protocol == 17 && !strcmp(t.local_addr, "::1") && t.local_port == 5353 && !strcmp(t.remote_addr, "::1") && t.remote_port == 53);

    /* Raw IP: ICMP has no ports; ARP over Ethernet and garbage are not IP. */
    ip[6] = 0, ip[7] = 0, ip[9] = 1;
    CHECK(np_packet_tuple(ip, 40, 101, &t) == 0 && t.protocol == 1 && t.local_port == 0);
    uint8_t arp[42] = {0};
    arp[12] = 0x08, arp[13] = 0x06;
    CHECK(np_packet_tuple(arp, sizeof arp, 1, &t) == -1);
    CHECK(np_packet_tuple((const uint8_t *)"\x00", 1, 101, &t) == -1);
    CHECK(np_packet_tuple(eth, sizeof eth, 113, &t) == -1); /* a link type it does not know */
}

/*
 * The hash tables against the plainest model of them (arrays scanned in full): 200,000 random
 * puts, removals and lookups over few keys, pids and tuples, so that chains collide, nodes are
 * reused and a full table refuses. One CHECK for the whole run, naming the first disagreement.
 */
#define MODEL_PROCESSES 64
#define MODEL_FLOWS 64
struct model_process { int used; uint64_t order; char key[16]; uint32_t pid; };
struct model_flow { int used; uint64_t order; char id[16]; char process[16]; np_tuple tuple; };

static uint32_t rng_state = 12345;
static uint32_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void against_a_model(void) {
    np_table *t = np_table_new(MODEL_PROCESSES / 2, MODEL_FLOWS / 2);
    struct model_process mp[MODEL_PROCESSES] = {0};
    struct model_flow mf[MODEL_FLOWS] = {0};
    uint64_t order = 0;
    int disagreement = -1;
    for (int step = 0; step < 200000 && disagreement < 0; step++) {
        uint32_t r = rng(), k = rng() % MODEL_PROCESSES, f = rng() % MODEL_FLOWS;
        char key[16], id[16], addr[16];
        snprintf(key, sizeof key, "%u.%u", k % 23, k);
        snprintf(id, sizeof id, "flow-%u", f);
        snprintf(addr, sizeof addr, "10.0.0.%u", f % 3);
        np_tuple tuple = np_tuple_make(f % 2 ? 6 : 17, addr, (uint16_t)(f % 4), "10.9.9.9", 443); /* flows 12 apart share a tuple */
        size_t live_p = 0, live_f = 0;
        for (int i = 0; i < MODEL_PROCESSES; i++) live_p += mp[i].used;
        for (int i = 0; i < MODEL_FLOWS; i++) live_f += mf[i].used;
        switch (r % 7) {
        case 0: { /* put process: replaces the same key, else needs a free node */
            np_process_info info = np_process_info_make(key, k % 23, id, NULL);
            int expect_ok = mp[k].used || live_p < MODEL_PROCESSES / 2;
            if ((np_table_put_process(t, &info) == 0) != expect_ok) disagreement = step;
            if (expect_ok) mp[k] = (struct model_process){1, ++order, "", k % 23}, snprintf(mp[k].key, 16, "%s", key);
            break;
        }
        case 1:
            np_table_remove_process(t, key);
            mp[k].used = 0;
            break;
        case 2: { /* by pid: the latest live instance */
            np_process_info out;
            const struct model_process *best = NULL;
            for (int i = 0; i < MODEL_PROCESSES; i++)
                if (mp[i].used && mp[i].pid == k % 23 && (!best || mp[i].order > best->order)) best = &mp[i];
            int got = np_table_process_by_pid(t, k % 23, &out);
            if ((got == 0) != (best != NULL) || (best && strcmp(out.key, best->key) != 0)) disagreement = step;
            break;
        }
        case 3: {
            int expect_ok = mf[f].used || live_f < MODEL_FLOWS / 2;
            int expected = mf[f].used ? 1 : expect_ok ? 0 : -1; /* 1: the id was there, replaced */
            if (np_table_put_flow(t, id, key, &tuple) != expected) disagreement = step;
            if (expect_ok) {
                mf[f] = (struct model_flow){1, ++order, "", "", tuple};
                snprintf(mf[f].id, 16, "%s", id);
                snprintf(mf[f].process, 16, "%s", key);
            }
            break;
        }
        case 4:
            np_table_remove_flow(t, id);
            mf[f].used = 0;
            break;
        case 5: { /* by id: what was put under it last */
            char process_key[NP_KEY_MAX];
            np_tuple stored;
            int got = np_table_flow_by_id(t, id, process_key, &stored);
            if ((got == 0) != mf[f].used || (got == 0 && (strcmp(process_key, mf[f].process) != 0 || stored.local_port != mf[f].tuple.local_port ||
                                                           strcmp(stored.local_addr, mf[f].tuple.local_addr) != 0)))
                disagreement = step;
            break;
        }
        default: { /* a packet, either direction: the newest flow on its tuple */
            np_tuple packet = r % 12 < 6 ? tuple : np_tuple_make(tuple.protocol, "10.9.9.9", 443, tuple.local_addr, tuple.local_port);
            const struct model_flow *best = NULL;
            for (int i = 0; i < MODEL_FLOWS; i++) {
                const np_tuple *m = &mf[i].tuple;
                if (mf[i].used && m->protocol == tuple.protocol && m->local_port == tuple.local_port && !strcmp(m->local_addr, tuple.local_addr) &&
                    (!best || mf[i].order > best->order))
                    best = &mf[i];
            }
            char process_key[NP_KEY_MAX];
            int got = np_table_flow_process(t, &packet, process_key);
            if ((got == 0) != (best != NULL) || (best && strcmp(process_key, best->process) != 0)) disagreement = step;
        }
        }
    }
    if (disagreement >= 0) printf("model: first disagreement at step %d\n", disagreement);
    CHECK(disagreement < 0);
    np_table_free(t);
}

/* Interface types and first packets as macOS shows them. */
static void link_types(void) {
    const uint8_t ipv4[] = {0x45, 0x00, 0x00, 0x54};
    const uint8_t ipv6[] = {0x60, 0x0a, 0xbc, 0xde};
    const uint8_t af_inet_host[] = {2, 0, 0, 0};    /* lo0 on a little-endian Mac */
    const uint8_t af_inet6_host[] = {30, 0, 0, 0};
    const uint8_t af_inet6_network[] = {0, 0, 0, 30};
    const uint8_t arp_frame[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK(np_link_type(0x06, ipv4, sizeof ipv4) == 1);          /* en0: Ethernet whatever the bytes */
    CHECK(np_link_type(0x47, arp_frame, sizeof arp_frame) == 1); /* Wi-Fi */
    CHECK(np_link_type(0xd1, NULL, 0) == 1);                     /* bridge */
    CHECK(np_link_type(0x87, NULL, 0) == 1 && np_link_type(0x88, NULL, 0) == 1); /* VLAN, bond */
    CHECK(np_link_type(0x18, af_inet_host, 4) == 0);             /* lo0 */
    CHECK(np_link_type(0x18, af_inet6_host, 4) == 0);
    CHECK(np_link_type(0x01, af_inet6_network, 4) == 0);         /* utun with a network-order AF header */
    CHECK(np_link_type(0x01, ipv4, sizeof ipv4) == 101);         /* utun, raw IPv4 */
    CHECK(np_link_type(0xff, ipv6, sizeof ipv6) == 101);         /* pdp_ip0 (cellular), raw IPv6 */
    CHECK(np_link_type(0x17, arp_frame, sizeof arp_frame) == 101); /* PPP, unrecognisable: raw IP, the tuple reader then refuses it */
    CHECK(np_link_type(0x00, NULL, 0) == 101);
    /* what np_link_type decides, np_packet_tuple reads */
    const uint8_t lo_packet[] = {2, 0, 0, 0, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39, 0x00, 0x35};
    np_tuple t;
    CHECK(np_packet_tuple(lo_packet, sizeof lo_packet, np_link_type(0x18, lo_packet, sizeof lo_packet), &t) == 0 && t.remote_port == 53);
}

int main(void) {
    link_types();
    against_a_model();
    packet_tuples();
    constructors();
    audit_tokens();
    sequences();
    table();
    concurrency();
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
