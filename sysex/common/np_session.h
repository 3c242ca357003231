/*
 * netprov session encoding in C, shared by the Linux sensor and the macOS system extension:
 * events as recorder/session/SPEC.md lays them out, in exactly the bytes the TypeScript writer
 * (msgpackr) produces, and the frames that carry them. No allocation: callers own the buffers,
 * so it runs in a sensor's hot path and inside a system extension alike.
 */
#ifndef NP_SESSION_H
#define NP_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A byte buffer of fixed capacity. An append that does not fit sets `overflow` and writes nothing. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    int overflow;
} np_buf;

void np_buf_init(np_buf *b, uint8_t *storage, size_t cap);

/* Event kinds (events.ts: never renumbered). */
enum { NP_INTERFACE = 1, NP_PROCESS, NP_EXEC, NP_FORK, NP_EXIT, NP_FLOW_OPEN, NP_FLOW_CLOSE, NP_PACKET, NP_LOSS, NP_CLOCK_SYNC, NP_MARK };

/* One field of an event. NP_NIL fields at the end of an event are omitted, as the spec says. */
typedef enum { NP_NIL, NP_INT, NP_INT64, NP_STR, NP_BOOL, NP_BIN, NP_STRS } np_field_kind;

typedef struct {
    np_field_kind kind;
    int64_t i;                  /* NP_INT, NP_BOOL */
    const char *s;              /* NP_STR: UTF-8, `n` bytes */
    const uint8_t *bytes;       /* NP_BIN: `n` bytes */
    const char *const *strs;    /* NP_STRS: `n` NUL-terminated strings */
    size_t n;
} np_field;

static inline np_field np_nil(void) { return (np_field){.kind = NP_NIL}; }
static inline np_field np_int(int64_t v) { return (np_field){.kind = NP_INT, .i = v}; }
/* Always a 64-bit msgpack int: for values that may pass 2^53 (a realtime clock reading in ns). */
static inline np_field np_int64(int64_t v) { return (np_field){.kind = NP_INT64, .i = v}; }
static inline np_field np_bool(int v) { return (np_field){.kind = NP_BOOL, .i = v ? 1 : 0}; }
/* A NUL-terminated string, or nil for NULL. */
static inline np_field np_str(const char *s) { return s ? (np_field){.kind = NP_STR, .s = s, .n = strlen(s)} : np_nil(); }
static inline np_field np_bin(const uint8_t *bytes, size_t n) { return (np_field){.kind = NP_BIN, .bytes = bytes, .n = n}; }
/* An array of strings, or nil for NULL. */
static inline np_field np_strs(const char *const *list, size_t n) { return list ? (np_field){.kind = NP_STRS, .strs = list, .n = n} : np_nil(); }

/* Appends one event: [kind, t, fields...] with trailing nils dropped. Returns 0, or -1 on overflow. */
int np_event(np_buf *b, int kind, int64_t t, const np_field *fields, size_t count);

/* The common case, with no field array to build. */
int np_packet(np_buf *b, int64_t t, uint32_t interface_id, int direction, uint32_t orig_len,
              const uint8_t *data, uint32_t cap_len, const char *process_key);

/* Plain msgpack values, for the header and trailer maps (integers by the same rules as events;
 * np_put_int64 always writes a 64-bit int, for the exact start_ns). */
void np_put_map(np_buf *b, size_t pairs);
void np_put_array(np_buf *b, size_t items);
void np_put_str(np_buf *b, const char *s);
void np_put_int(np_buf *b, int64_t v);
void np_put_int64(np_buf *b, int64_t v);

/* Frames (SPEC.md "Frames"). */
enum { NP_FRAME_HEADER = 1, NP_FRAME_EVENTS = 2, NP_FRAME_TRAILER = 3 };
#define NP_FRAME_HEADER_SIZE 32
extern const uint8_t NP_FILE_SIGNATURE[8];

uint32_t np_crc32(const uint8_t *data, size_t len);

/* Writes the 32-byte header of a frame carrying `payload`. */
void np_frame_header(uint8_t out[NP_FRAME_HEADER_SIZE], int type, uint32_t sequence, const uint8_t *payload,
                     uint32_t payload_len, uint32_t event_count);

#endif
