/*
 * np_stream from four threads at once, as the macOS packet and flow handlers use it: each thread
 * writes marks "thread T event I" and packets into a stream with small chunks (so chunks fill and
 * are handed over constantly), then one oversized event that cannot fit any chunk. The stream is
 * written to the file named by argv[1]; the totals are printed for the test to compare with what
 * the session reader finds.
 *
 *   stream OUT.npsession  ->  "marks=4000 packets=4000 lost=4 bytes=N"
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "np_stream.h"

#define THREADS 4
#define PER_THREAD 1000

static FILE *out;

static int write_piece(void *context, const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len) {
    (void)context;
    if (fwrite(head, 1, head_len, out) != head_len) return -1;
    if (body_len && fwrite(body, 1, body_len, out) != body_len) return -1;
    return 0;
}

struct writer_args {
    np_stream *stream;
    int index;
};

static void *writer(void *arg) {
    const struct writer_args *w = arg;
    np_stream *s = w->stream;
    uint8_t payload[64];
    uint8_t big[4096];
    memset(big, 0xab, sizeof big);
    for (int i = 0; i < PER_THREAD; i++) {
        char text[64];
        snprintf(text, sizeof text, "thread %d event %d", w->index, i);
        np_field f[1] = {np_str(text)};
        np_stream_event(s, NP_MARK, i, f, 1);
        memset(payload, i & 0xff, sizeof payload);
        np_stream_packet(s, i, 0, 2, 64, payload, sizeof payload, NULL);
    }
    np_stream_packet(s, PER_THREAD, 0, 2, sizeof big, big, sizeof big, NULL); /* larger than a chunk */
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2 || !(out = fopen(argv[1], "wb"))) return 2;
    np_stream *s = np_stream_new(1024, write_piece, NULL);
    np_stream_begin(s, "stream-test", "0", 1700000000123456789LL, "none");
    np_field iface[4] = {np_int(0), np_str("test0"), np_int(101), np_int(65535)};
    np_stream_event(s, NP_INTERFACE, 0, iface, 4);
    pthread_t threads[THREADS];
    struct writer_args args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct writer_args){s, i};
        pthread_create(&threads[i], NULL, writer, &args[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    np_stream_end(s, PER_THREAD);
    np_stream_counts c;
    np_stream_get_counts(s, &c);
    printf("marks=%llu packets=%llu lost=%llu bytes=%llu failed=%d\n", (unsigned long long)c.events[NP_MARK], (unsigned long long)c.events[NP_PACKET],
           (unsigned long long)c.lost, (unsigned long long)c.bytes, np_stream_failed(s));
    np_stream_free(s);
    return fclose(out) == 0 ? 0 : 2;
}
