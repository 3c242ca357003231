/*
 * Encoding choices follow msgpackr's, so that both encoders give the same bytes: integers that
 * fit 32 bits use the smallest msgpack int form (positive fixint up to 127); other integers are
 * written as float64 (exact below 2^53, which session times are); strings and bins use the
 * smallest length form.
 */
#include "np_session.h"

#include <pthread.h>
#include <string.h>

const uint8_t NP_FILE_SIGNATURE[8] = {0x89, 'N', 'P', 'S', '\r', '\n', 0x1a, '\n'};

void np_buf_init(np_buf *b, uint8_t *storage, size_t cap) {
    b->data = storage;
    b->len = 0;
    b->cap = cap;
    b->overflow = 0;
}

static int room(np_buf *b, size_t n) {
    if (b->overflow || b->cap - b->len < n) {
        b->overflow = 1;
        return 0;
    }
    return 1;
}

static void put(np_buf *b, const void *bytes, size_t n) {
    if (room(b, n)) {
        memcpy(b->data + b->len, bytes, n);
        b->len += n;
    }
}

static void put_be(np_buf *b, uint8_t type, uint64_t value, int size) {
    uint8_t out[9];
    out[0] = type;
    for (int i = 0; i < size; i++) out[1 + i] = (uint8_t)(value >> (8 * (size - 1 - i)));
    put(b, out, (size_t)size + 1);
}

static void mp_int(np_buf *b, int64_t v) {
    if (v >= 0 && v <= 0xffffffffLL) {
        if (v < 0x80) {
            uint8_t byte = (uint8_t)v;
            put(b, &byte, 1);
        } else if (v < 0x100) put_be(b, 0xcc, (uint64_t)v, 1);
        else if (v < 0x10000) put_be(b, 0xcd, (uint64_t)v, 2);
        else put_be(b, 0xce, (uint64_t)v, 4);
    } else if (v < 0 && v >= INT32_MIN) {
        if (v >= -32) {
            uint8_t byte = (uint8_t)(0x100 + v);
            put(b, &byte, 1);
        } else if (v >= -128) put_be(b, 0xd0, (uint64_t)(uint8_t)(int8_t)v, 1);
        else if (v >= -32768) put_be(b, 0xd1, (uint64_t)(uint16_t)(int16_t)v, 2);
        else put_be(b, 0xd2, (uint64_t)(uint32_t)(int32_t)v, 4);
    } else {
        double d = (double)v;
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        put_be(b, 0xcb, bits, 8);
    }
}

static void mp_length(np_buf *b, size_t n, uint8_t fix, size_t fix_max, uint8_t t8, uint8_t t16, uint8_t t32) {
    if (fix && n <= fix_max) {
        uint8_t byte = (uint8_t)(fix | n);
        put(b, &byte, 1);
    } else if (t8 && n < 0x100) put_be(b, t8, n, 1);
    else if (n < 0x10000) put_be(b, t16, n, 2);
    else put_be(b, t32, n, 4);
}

static void mp_str(np_buf *b, const char *s, size_t n) {
    mp_length(b, n, 0xa0, 31, 0xd9, 0xda, 0xdb);
    put(b, s, n);
}

static void mp_array(np_buf *b, size_t n) { mp_length(b, n, 0x90, 15, 0, 0xdc, 0xdd); }

static void mp_field(np_buf *b, const np_field *f) {
    uint8_t byte;
    switch (f->kind) {
    case NP_NIL:
        byte = 0xc0;
        put(b, &byte, 1);
        break;
    case NP_INT:
        mp_int(b, f->i);
        break;
    case NP_INT64:
        put_be(b, 0xd3, (uint64_t)f->i, 8);
        break;
    case NP_BOOL:
        byte = f->i ? 0xc3 : 0xc2;
        put(b, &byte, 1);
        break;
    case NP_STR:
        mp_str(b, f->s, f->n);
        break;
    case NP_BIN:
        mp_length(b, f->n, 0, 0, 0xc4, 0xc5, 0xc6);
        put(b, f->bytes, f->n);
        break;
    case NP_STRS:
        mp_array(b, f->n);
        for (size_t i = 0; i < f->n; i++) mp_str(b, f->strs[i], strlen(f->strs[i]));
        break;
    }
}

void np_put_map(np_buf *b, size_t pairs) { mp_length(b, pairs, 0x80, 15, 0, 0xde, 0xdf); }
void np_put_array(np_buf *b, size_t items) { mp_array(b, items); }
void np_put_str(np_buf *b, const char *s) { mp_str(b, s, strlen(s)); }
void np_put_int(np_buf *b, int64_t v) { mp_int(b, v); }
void np_put_int64(np_buf *b, int64_t v) { put_be(b, 0xd3, (uint64_t)v, 8); }

int np_event(np_buf *b, int kind, int64_t t, const np_field *fields, size_t count) {
    size_t used = count;
    while (used > 0 && fields[used - 1].kind == NP_NIL) used--;
    size_t start = b->len;
    mp_array(b, used + 2);
    mp_int(b, kind);
    mp_int(b, t);
    for (size_t i = 0; i < used; i++) mp_field(b, &fields[i]);
    if (b->overflow) {
        b->len = start; /* never leave half an event in a chunk */
        return -1;
    }
    return 0;
}

int np_packet(np_buf *b, int64_t t, uint32_t interface_id, int direction, uint32_t orig_len,
              const uint8_t *data, uint32_t cap_len, const char *process_key) {
    np_field fields[5] = {np_int(interface_id), np_int(direction), np_int(orig_len), np_bin(data, cap_len), np_str(process_key)};
    return np_event(b, NP_PACKET, t, fields, 5);
}

/* CRC-32 (IEEE, zlib's): the table is built once, whichever thread asks first. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t np_crc32(const uint8_t *data, size_t len) {
    pthread_once(&crc_once, crc_init);
    const uint32_t *table = crc_table;
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

static void le32(uint8_t *out, uint32_t v) {
    for (int i = 0; i < 4; i++) out[i] = (uint8_t)(v >> (8 * i));
}

void np_frame_header(uint8_t out[NP_FRAME_HEADER_SIZE], int type, uint32_t sequence, const uint8_t *payload,
                     uint32_t payload_len, uint32_t event_count) {
    memset(out, 0, NP_FRAME_HEADER_SIZE);
    memcpy(out, "NPCK", 4);
    out[4] = (uint8_t)type;
    le32(out + 8, sequence);
    le32(out + 12, payload_len);
    le32(out + 16, event_count);
    le32(out + 20, np_crc32(payload, payload_len));
    le32(out + 28, np_crc32(out, 28));
}
