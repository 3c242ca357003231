/* Unit tests of np_endpoint.c; run by test/sysex/endpoint.test.ts. Prints one line per check. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../np_endpoint.h"

static int failures, checks;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            printf("FAIL %s:%d %s\n", __FILE__, __LINE__, #cond);                    \
        }                                                                            \
    } while (0)

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

static np_process_info process(const char *key, uint32_t pid, const char *path) {
    np_process_info p = {.pid = pid};
    snprintf(p.key, sizeof p.key, "%s", key);
    snprintf(p.path, sizeof p.path, "%s", path);
    return p;
}

static np_tuple tuple(const char *local, uint16_t lport, const char *remote, uint16_t rport) {
    np_tuple t = {.protocol = 6, .local_port = lport, .remote_port = rport};
    snprintf(t.local_addr, sizeof t.local_addr, "%s", local);
    snprintf(t.remote_addr, sizeof t.remote_addr, "%s", remote);
    return t;
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
    np_table_remove_flow(t, "F1C0FFEE-0000-4000-8000-000000000001");
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

int main(void) {
    audit_tokens();
    sequences();
    table();
    concurrency();
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
