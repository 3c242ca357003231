#include "np_recording.h"
#include "np_endpoint.h"
#include "np_lock.h"

#include <stdlib.h>
#include <string.h>

/*
 * The described processes: a set of keys, open addressing over a power-of-two array (cleared
 * whole at each start, so it needs no deletion but by `forget`, which leaves a tombstone).
 */
enum { EMPTY = 0, USED = 1, GONE = 2 };

struct key_slot {
    uint8_t state;
    char key[NP_KEY_MAX];
};

struct np_recording {
    np_lock lock;
    int running;
    uint64_t owner;
    np_recording_totals totals;
    size_t capacity, live; /* live: slots USED */
    size_t mask;
    struct key_slot *keys;
};

np_recording *np_recording_new(size_t process_capacity) {
    np_recording *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    size_t slots = 16;
    while (slots < process_capacity * 2) slots <<= 1;
    r->keys = calloc(slots, sizeof *r->keys);
    if (!r->keys) {
        free(r);
        return NULL;
    }
    r->capacity = process_capacity;
    r->mask = slots - 1;
    np_lock_init(&r->lock);
    return r;
}

void np_recording_free(np_recording *r) {
    if (!r) return;
    np_lock_destroy(&r->lock);
    free(r->keys);
    free(r);
}

int np_recording_start(np_recording *r, uint64_t owner) {
    np_lock_acquire(&r->lock);
    int result = -1;
    if (!r->running) {
        uint64_t number = r->totals.recording + 1;
        memset(&r->totals, 0, sizeof r->totals);
        r->totals.recording = number;
        memset(r->keys, 0, (r->mask + 1) * sizeof *r->keys);
        r->live = 0;
        r->owner = owner;
        r->running = 1;
        result = 0;
    }
    np_lock_release(&r->lock);
    return result;
}

int np_recording_stop(np_recording *r, uint64_t owner, np_recording_totals *final) {
    np_lock_acquire(&r->lock);
    int result = -1;
    if (r->running && r->owner == owner) {
        r->running = 0;
        if (final) *final = r->totals;
        result = 0;
    }
    np_lock_release(&r->lock);
    return result;
}

int np_recording_running(np_recording *r, uint64_t *owner) {
    np_lock_acquire(&r->lock);
    int running = r->running;
    if (running && owner) *owner = r->owner;
    np_lock_release(&r->lock);
    return running;
}

static size_t key_hash(const char *key) {
    uint32_t h = 2166136261u;
    for (; *key; key++) h = (h ^ (uint8_t)*key) * 16777619u;
    return h;
}

/* The slot holding `key`, or NULL; with `insert`, the slot to put it in (NULL when full). */
static struct key_slot *find(np_recording *r, const char *key, int insert) {
    struct key_slot *reuse = NULL;
    for (size_t i = key_hash(key), probes = 0; probes <= r->mask; i++, probes++) {
        struct key_slot *s = &r->keys[i & r->mask];
        if (s->state == EMPTY) return insert ? (reuse ? reuse : s) : NULL;
        if (s->state == GONE) {
            if (!reuse) reuse = s;
        } else if (strcmp(s->key, key) == 0) {
            return s;
        }
    }
    return insert ? reuse : NULL;
}

/* A key as the set stores it: cut to NP_KEY_MAX - 1 bytes. Returns its length. */
static size_t stored_key(char key[NP_KEY_MAX], const char *process_key) {
    size_t n = strnlen(process_key, NP_KEY_MAX - 1);
    memcpy(key, process_key, n);
    key[n] = 0;
    return n;
}

int np_recording_introduce(np_recording *r, const char *process_key) {
    char key[NP_KEY_MAX];
    size_t n = stored_key(key, process_key);
    np_lock_acquire(&r->lock);
    int describe = 0;
    if (r->running) {
        struct key_slot *s = find(r, key, 1);
        if (s && s->state == USED) {
            describe = 0;
        } else {
            describe = 1;
            r->totals.introduced++;
            /* Past the capacity nothing more is remembered: those processes are described every time. */
            if (s && r->live < r->capacity) {
                r->live++;
                s->state = USED;
                memcpy(s->key, key, n + 1);
            }
        }
    }
    np_lock_release(&r->lock);
    return describe;
}

void np_recording_forget(np_recording *r, const char *process_key) {
    char key[NP_KEY_MAX];
    stored_key(key, process_key);
    np_lock_acquire(&r->lock);
    struct key_slot *s = r->running ? find(r, key, 0) : NULL;
    if (s) {
        s->state = GONE;
        r->live--;
    }
    np_lock_release(&r->lock);
}

void np_recording_lost(np_recording *r, np_loss_source source, uint64_t n) {
    if ((unsigned)source >= NP_LOSS_SOURCES) return;
    np_lock_acquire(&r->lock);
    if (r->running) r->totals.lost[source] += n;
    np_lock_release(&r->lock);
}

np_recording_totals np_recording_now(np_recording *r) {
    np_lock_acquire(&r->lock);
    np_recording_totals now = r->running ? r->totals : (np_recording_totals){0};
    np_lock_release(&r->lock);
    return now;
}
