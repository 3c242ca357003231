/* Unit tests of np_recording.c; run by test/sysex/endpoint.test.ts. Prints one line per failure, then a count. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../np_recording.h"
#include "check.h"

enum { APP = 7, SECOND_CLIENT = 9 };

static void ownership(void) {
    np_recording *r = np_recording_new(64);
    np_recording_totals final;
    uint64_t owner = 0;
    CHECK(np_recording_running(r, &owner) == 0);
    CHECK(np_recording_stop(r, APP, &final) == -1);                 /* nothing to stop */
    CHECK(np_recording_start(r, APP) == 0);
    CHECK(np_recording_running(r, &owner) == 1 && owner == APP);
    CHECK(np_recording_start(r, SECOND_CLIENT) == -1);              /* one recording at a time */
    CHECK(np_recording_stop(r, SECOND_CLIENT, &final) == -1);       /* a second client cannot end the first's */
    CHECK(np_recording_running(r, &owner) == 1 && owner == APP);
    CHECK(np_recording_stop(r, APP, &final) == 0 && final.recording == 1);
    CHECK(np_recording_start(r, SECOND_CLIENT) == 0);               /* then it may start its own */
    CHECK(np_recording_stop(r, SECOND_CLIENT, &final) == 0 && final.recording == 2);
    np_recording_free(r);
}

static void introductions(void) {
    np_recording *r = np_recording_new(64);
    CHECK(np_recording_introduce(r, "100.1") == 0);                 /* not recording: nothing to describe */
    np_recording_start(r, APP);
    CHECK(np_recording_introduce(r, "100.1") == 1);                 /* first named: describe it */
    CHECK(np_recording_introduce(r, "100.1") == 0);
    CHECK(np_recording_introduce(r, "200.4") == 1);                 /* a process that only talks on the network */
    np_recording_forget(r, "100.1");                                /* exited; the pid is reused ... */
    CHECK(np_recording_introduce(r, "100.1") == 1);                 /* ... and its next owner is described */
    np_recording_totals final;
    CHECK(np_recording_stop(r, APP, &final) == 0 && final.introduced == 3);
    np_recording_start(r, APP);                                     /* a second recording in the same run */
    CHECK(np_recording_introduce(r, "200.4") == 1);                 /* described again: each file stands alone */
    np_recording_stop(r, APP, NULL);
    np_recording_free(r);
}

static void full_set(void) {
    np_recording *r = np_recording_new(4);
    np_recording_start(r, APP);
    char key[16];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "%d.1", i);
        CHECK(np_recording_introduce(r, key) == 1);
    }
    CHECK(np_recording_introduce(r, "99.1") == 1 && np_recording_introduce(r, "99.1") == 1); /* full: describe every time */
    CHECK(np_recording_introduce(r, "0.1") == 0);
    char long_key[200];
    memset(long_key, '7', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = 0;
    np_recording_forget(r, "0.1");
    CHECK(np_recording_introduce(r, long_key) == 1 && np_recording_introduce(r, long_key) == 0); /* cut to fit, still one key */
    np_recording_free(r);
}

static void losses(void) {
    np_recording *r = np_recording_new(8);
    np_recording_lost(r, NP_LOSS_ES, 5);                            /* none runs: not counted */
    np_recording_start(r, APP);
    np_recording_lost(r, NP_LOSS_ES, 3);
    np_recording_lost(r, NP_LOSS_PACKETS, 10);
    np_recording_lost(r, NP_LOSS_SOURCES, 1);                       /* no such source: ignored */
    CHECK(np_recording_now(r).lost[NP_LOSS_PACKETS] == 10);
    np_recording_totals final;
    np_recording_stop(r, APP, &final);
    np_recording_lost(r, NP_LOSS_ES, 4);                            /* after the stop: the final counts stand */
    CHECK(final.lost[NP_LOSS_ES] == 3 && final.lost[NP_LOSS_PACKETS] == 10 && final.lost[NP_LOSS_FLOWS] == 0);
    CHECK(np_recording_now(r).lost[NP_LOSS_ES] == 0);
    np_recording_free(r);
}

/* The ES, packet and flow handlers at once: every process described exactly once. */
static np_recording *shared;
static int described[4];

static void *handler(void *arg) {
    int id = (int)(long)arg;
    char key[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "%d.1", i);
        described[id] += np_recording_introduce(shared, key);
        np_recording_lost(shared, NP_LOSS_PACKETS, 1);
    }
    return NULL;
}

static void concurrency(void) {
    shared = np_recording_new(4096);
    np_recording_start(shared, APP);
    pthread_t threads[4];
    for (long i = 0; i < 4; i++) pthread_create(&threads[i], NULL, handler, (void *)i);
    for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
    np_recording_totals final;
    CHECK(np_recording_stop(shared, APP, &final) == 0);
    CHECK(described[0] + described[1] + described[2] + described[3] == 2000 && final.introduced == 2000);
    CHECK(final.lost[NP_LOSS_PACKETS] == 8000);
    np_recording_free(shared);
}

int main(void) {
    ownership();
    introductions();
    full_set();
    losses();
    concurrency();
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
