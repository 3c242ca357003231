/*
 * A session stream being written: events gathered into chunks, each chunk framed and handed to
 * an output when full or when the sensor flushes it; the header first, the trailer last
 * (recorder/session/SPEC.md). Shared by the Linux sensor and the macOS system extension, so both
 * hand the recorder the same bytes. Thread-safe: the macOS packet and flow handlers emit from
 * several threads at once; frames reach the output one at a time, in order.
 */
#ifndef NP_STREAM_H
#define NP_STREAM_H

#include "np_lock.h"
#include "np_session.h"

/*
 * Receives the stream in whole pieces, under the stream's lock: the file signature, then each
 * frame as its 32-byte header followed by its payload. Returns 0, or -1 when the reader is gone;
 * the stream then hands over nothing more (np_stream_failed).
 */
typedef int (*np_stream_output)(void *context, const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len);

#define NP_KIND_SLOTS 16

/* Running totals, readable from any thread. */
typedef struct {
    uint64_t events[NP_KIND_SLOTS]; /* by event kind (NP_EXEC ...), events handed to the output */
    uint64_t lost;                  /* the counts of the loss events written */
    uint64_t bytes;                 /* bytes handed to the output */
} np_stream_counts;

typedef struct np_stream np_stream;

/* `chunk_bytes` of storage for the chunk being filled. NULL if out of memory. */
np_stream *np_stream_new(size_t chunk_bytes, np_stream_output output, void *context);
void np_stream_free(np_stream *s);

/* The signature and the header frame: a random session id, this host, the sensor, the exact
 * realtime start in ns since the epoch, and how the sensor's clocks map to session time. */
void np_stream_begin(np_stream *s, const char *sensor_name, const char *sensor_version, int64_t start_ns, const char *clock_notes);

/* One event (np_event's layout). An event that does not fit the chunk flushes it first. */
void np_stream_event(np_stream *s, int kind, int64_t t, const np_field *fields, size_t count);
void np_stream_packet(np_stream *s, int64_t t, uint32_t interface_id, int direction, uint32_t orig_len, const uint8_t *data,
                      uint32_t cap_len, const char *process_key);
/* A loss event, also added to the `lost` total. */
void np_stream_loss(np_stream *s, int64_t t, const char *source, uint64_t count, const char *reason);

/* Hands over the chunk being filled, if it holds anything. */
void np_stream_flush(np_stream *s);
/* Flushes, then writes the trailer with `end_t`; nothing may be emitted after it. */
void np_stream_end(np_stream *s, int64_t end_t);

void np_stream_get_counts(np_stream *s, np_stream_counts *out);
/* 1 once the output has refused a piece. */
int np_stream_failed(np_stream *s);

#endif
