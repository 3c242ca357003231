#include "np_stream.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct np_stream {
    np_lock lock;
    np_stream_output output;
    void *context;
    int failed;
    uint32_t sequence;
    uint32_t events; /* in the chunk being filled */
    np_buf chunk;
    np_stream_counts counts;
    uint8_t *storage;
    size_t storage_bytes;
};

np_stream *np_stream_new(size_t chunk_bytes, np_stream_output output, void *context) {
    np_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->storage = malloc(chunk_bytes);
    if (!s->storage) {
        free(s);
        return NULL;
    }
    s->storage_bytes = chunk_bytes;
    s->output = output;
    s->context = context;
    np_buf_init(&s->chunk, s->storage, chunk_bytes);
    np_lock_init(&s->lock);
    return s;
}

void np_stream_free(np_stream *s) {
    if (!s) return;
    np_lock_destroy(&s->lock);
    free(s->storage);
    free(s);
}

/* Totals other threads read without the lock: written under it, read relaxed. */
static void add(uint64_t *counter, uint64_t n) { __atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED); }

static void put(np_stream *s, const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len) {
    if (s->failed) return;
    if (s->output(s->context, head, head_len, body, body_len) != 0) {
        __atomic_store_n(&s->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    add(&s->counts.bytes, head_len + body_len);
}

static void put_frame(np_stream *s, int type, const uint8_t *payload, uint32_t len, uint32_t events) {
    uint8_t header[NP_FRAME_HEADER_SIZE];
    np_frame_header(header, type, s->sequence++, payload, len, events);
    put(s, header, sizeof header, payload, len);
}

/* Hands over the chunk if it holds events, and starts an empty one (clearing a failed append). */
static void flush_locked(np_stream *s) {
    if (s->events > 0) put_frame(s, NP_FRAME_EVENTS, s->chunk.data, (uint32_t)s->chunk.len, s->events);
    s->events = 0;
    np_buf_init(&s->chunk, s->storage, s->storage_bytes);
}

static void random_uuid(char out[37]) {
    uint8_t r[16] = {0};
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        if (read(fd, r, sizeof r) != (ssize_t)sizeof r) r[0] ^= 1;
        close(fd);
    }
    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
             r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

void np_stream_begin(np_stream *s, const char *sensor_name, const char *sensor_version, int64_t start_ns, const char *clock_notes) {
    uint8_t buf[2048];
    np_buf b;
    np_buf_init(&b, buf, sizeof buf);
    char host[256] = "unknown", id[37];
    gethostname(host, sizeof host - 1);
    random_uuid(id);
    np_put_map(&b, 7);
    np_put_str(&b, "format"), np_put_str(&b, "netprov-session");
    np_put_str(&b, "version"), np_put_array(&b, 2), np_put_int(&b, 1), np_put_int(&b, 2);
    np_put_str(&b, "session_id"), np_put_str(&b, id);
    np_put_str(&b, "host"), np_put_str(&b, host);
    np_put_str(&b, "sensor"), np_put_map(&b, 2);
    np_put_str(&b, "name"), np_put_str(&b, sensor_name);
    np_put_str(&b, "version"), np_put_str(&b, sensor_version);
    np_put_str(&b, "start_ns"), np_put_int64(&b, start_ns);
    np_put_str(&b, "clock_notes"), np_put_str(&b, clock_notes);
    np_lock_acquire(&s->lock);
    put(s, NP_FILE_SIGNATURE, sizeof NP_FILE_SIGNATURE, NULL, 0);
    put_frame(s, NP_FRAME_HEADER, b.data, (uint32_t)b.len, 0);
    np_lock_release(&s->lock);
}

/* Appends one event under the lock; a full chunk is handed over first, so no event is split. */
static void append_locked(np_stream *s, int kind, int64_t t, const np_field *fields, size_t count) {
    if (np_event(&s->chunk, kind, t, fields, count) != 0) {
        flush_locked(s);
        if (np_event(&s->chunk, kind, t, fields, count) != 0) {
            /* Larger than a whole chunk: cannot be framed; counted as lost rather than split. */
            np_buf_init(&s->chunk, s->storage, s->storage_bytes);
            add(&s->counts.lost, 1);
            return;
        }
    }
    s->events++;
    if (kind >= 0 && kind < NP_KIND_SLOTS) add(&s->counts.events[kind], 1);
}

void np_stream_event(np_stream *s, int kind, int64_t t, const np_field *fields, size_t count) {
    np_lock_acquire(&s->lock);
    append_locked(s, kind, t, fields, count);
    np_lock_release(&s->lock);
}

void np_stream_packet(np_stream *s, int64_t t, uint32_t interface_id, int direction, uint32_t orig_len, const uint8_t *data,
                      uint32_t cap_len, const char *process_key) {
    /* np_packet's layout: the same fields, appended like any other event. */
    np_field fields[5] = {np_int(interface_id), np_int(direction), np_int(orig_len), np_bin(data, cap_len), np_str(process_key)};
    np_stream_event(s, NP_PACKET, t, fields, 5);
}

void np_stream_loss(np_stream *s, int64_t t, const char *source, uint64_t count, const char *reason) {
    np_field f[3] = {np_str(source), np_int((int64_t)count), np_str(reason)};
    np_lock_acquire(&s->lock);
    append_locked(s, NP_LOSS, t, f, 3);
    add(&s->counts.lost, count);
    np_lock_release(&s->lock);
}

void np_stream_flush(np_stream *s) {
    np_lock_acquire(&s->lock);
    flush_locked(s);
    np_lock_release(&s->lock);
}

/* Kind names of the trailer's counts, by kind number (SPEC.md's table). */
static const char *const kind_names[NP_KIND_SLOTS] = {
    [1] = "interface", [2] = "process", [3] = "exec", [4] = "fork", [5] = "exit", [6] = "flowOpen",
    [7] = "flowClose", [8] = "packet", [9] = "loss", [10] = "clockSync", [11] = "mark",
};

void np_stream_end(np_stream *s, int64_t end_t) {
    np_lock_acquire(&s->lock);
    flush_locked(s);
    uint8_t buf[512];
    np_buf b;
    np_buf_init(&b, buf, sizeof buf);
    size_t kinds = 0;
    for (int i = 0; i < NP_KIND_SLOTS; i++) kinds += kind_names[i] && s->counts.events[i];
    np_put_map(&b, 4);
    np_put_str(&b, "end_t"), np_put_int(&b, end_t);
    np_put_str(&b, "counts"), np_put_map(&b, kinds);
    for (int i = 0; i < NP_KIND_SLOTS; i++)
        if (kind_names[i] && s->counts.events[i]) np_put_str(&b, kind_names[i]), np_put_int(&b, (int64_t)s->counts.events[i]);
    np_put_str(&b, "losses"), np_put_int(&b, (int64_t)s->counts.lost);
    np_put_str(&b, "chunks"), np_put_int(&b, s->sequence - 1);
    put_frame(s, NP_FRAME_TRAILER, b.data, (uint32_t)b.len, 0);
    np_lock_release(&s->lock);
}

void np_stream_get_counts(np_stream *s, np_stream_counts *out) {
    for (int i = 0; i < NP_KIND_SLOTS; i++) out->events[i] = __atomic_load_n(&s->counts.events[i], __ATOMIC_RELAXED);
    out->lost = __atomic_load_n(&s->counts.lost, __ATOMIC_RELAXED);
    out->bytes = __atomic_load_n(&s->counts.bytes, __ATOMIC_RELAXED);
}

int np_stream_failed(np_stream *s) { return __atomic_load_n(&s->failed, __ATOMIC_RELAXED); }
