/*
 * `npm run bench:sysex`: the shared table as the macOS packet filter uses it — a packet's tuple
 * looked up among 65,536 live flows while 16,384 processes are live — half the lookups hitting a
 * flow (either direction), half missing. Also processes by pid. The last line is the figure:
 *   sysex table: N lookups/s
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../np_endpoint.h"

#define PROCESSES 16384
#define FLOWS 65536
#define LOOKUPS 4000000

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static np_tuple flow_tuple(unsigned i, int inbound, int miss) {
    char local[NP_ADDR_MAX], remote[NP_ADDR_MAX];
    snprintf(local, sizeof local, "192.168.%u.%u", (i >> 8) & 255, i & 255);
    snprintf(remote, sizeof remote, "203.0.%u.%u", (i * 7) & 255, (i * 13) & 255);
    uint16_t lport = (uint16_t)(1024 + i % 60000), rport = miss ? 9 : 443;
    return inbound ? np_tuple_make(6, remote, rport, local, lport) : np_tuple_make(6, local, lport, remote, rport);
}

int main(void) {
    np_table *t = np_table_new(PROCESSES, FLOWS);
    if (!t) return 1;
    for (unsigned i = 0; i < PROCESSES; i++) {
        char key[NP_KEY_MAX];
        snprintf(key, sizeof key, "%u.%u", 1000 + i, i * 3 + 1);
        np_process_info p = np_process_info_make(key, 1000 + i, "/usr/bin/example", "com.example.tool");
        if (np_table_put_process(t, &p) != 0) return 1;
    }
    for (unsigned i = 0; i < FLOWS; i++) {
        char id[NP_KEY_MAX], key[NP_KEY_MAX];
        snprintf(id, sizeof id, "F1C0FFEE-%08u-4000-8000-000000000001", i);
        snprintf(key, sizeof key, "%u.%u", 1000 + i % PROCESSES, (i % PROCESSES) * 3 + 1);
        np_tuple tuple = flow_tuple(i, 0, 0);
        if (np_table_put_flow(t, id, key, &tuple) != 0) return 1;
    }
    /* The packets, made before the clock starts: what is measured is the table, not snprintf. */
    enum { DISTINCT = 1 << 16 };
    np_tuple *packets = malloc(DISTINCT * sizeof *packets);
    if (!packets) return 1;
    for (unsigned i = 0; i < DISTINCT; i++) packets[i] = flow_tuple((i * 40503u) % FLOWS, i & 1, (i >> 1) & 1);

    char key[NP_KEY_MAX];
    unsigned hits = 0;
    double start = now();
    for (unsigned i = 0; i < LOOKUPS; i++) hits += np_table_flow_process(t, &packets[i & (DISTINCT - 1)], key) == 0;
    double flow_seconds = now() - start;

    np_process_info out;
    unsigned found = 0;
    start = now();
    for (unsigned i = 0; i < LOOKUPS; i++) found += np_table_process_by_pid(t, 1000 + (i & 1 ? 0 : PROCESSES) + (i / 2) % PROCESSES, &out) == 0; /* odd i live, even i not */
    double pid_seconds = now() - start;

    printf("flows live: %d, processes live: %d\n", FLOWS, PROCESSES);
    printf("packet -> flow -> process: %u lookups, %u hits, %.0f ns each\n", LOOKUPS, hits, flow_seconds / LOOKUPS * 1e9);
    printf("process by pid: %u lookups, %u found, %.0f ns each\n", LOOKUPS, found, pid_seconds / LOOKUPS * 1e9);
    printf("sysex table: %.0f lookups/s\n", LOOKUPS / flow_seconds);
    free(packets);
    np_table_free(t);
    return hits == LOOKUPS / 2 && found == LOOKUPS / 2 ? 0 : 1;
}
