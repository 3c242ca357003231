/*
 * The state of the system extension's recordings, kept in C so that it is compiled and tested
 * here (the Swift shell only converts Apple types into these calls):
 *   - who owns the running recording: only the client (XPC connection) that started it may stop
 *     it; any other is refused, and a client going away stops only its own recording;
 *   - which processes this recording has described: a process is described (a `process` event)
 *     the first time the recording names it — at its exec or fork, or the first time a flow or a
 *     packet is attributed to it — so that every recording is whole on its own, a process seen
 *     in an earlier recording included;
 *   - the loss counts, frozen when the recording stops, so that the client reads the final ones
 *     after the stream is gone.
 * Thread-safe: the ES, packet and flow handlers call it from their own queues.
 */
#ifndef NP_RECORDING_H
#define NP_RECORDING_H

#include <stddef.h>
#include <stdint.h>

typedef enum { NP_LOSS_ES, NP_LOSS_PACKETS, NP_LOSS_FLOWS, NP_LOSS_WRITER, NP_LOSS_SOURCES } np_loss_source;

typedef struct {
    uint64_t recording;                /* 1 for the first recording of this extension's run, +1 each */
    uint64_t lost[NP_LOSS_SOURCES];    /* events lost, by where */
    uint64_t introduced;               /* processes described */
} np_recording_totals;

typedef struct np_recording np_recording;

/* Room for `process_capacity` processes described per recording; NULL when out of memory. */
np_recording *np_recording_new(size_t process_capacity);
void np_recording_free(np_recording *r);

/* Starts a recording owned by `owner`. 0; -1 when one is running already (whoever owns it). */
int np_recording_start(np_recording *r, uint64_t owner);

/*
 * Stops the running recording if `owner` started it: 0, with its totals (frozen now) in *final.
 * -1 when another client owns it or none runs: nothing changes.
 */
int np_recording_stop(np_recording *r, uint64_t owner, np_recording_totals *final);

/* 1 while a recording runs (its owner in *owner, if not NULL), else 0. */
int np_recording_running(np_recording *r, uint64_t *owner);

/*
 * Should the process `process_key` be described now? 1 the first time the running recording
 * names it (the caller emits its `process` event), 0 after that and when no recording runs.
 * When the set is full it answers 1 every time: describing twice is harmless, never is not.
 */
int np_recording_introduce(np_recording *r, const char *process_key);

/* The process exited: a later process with the same key (a reused pid) is described afresh. */
void np_recording_forget(np_recording *r, const char *process_key);

/* Counts `n` events lost at `source` in the running recording (none runs: ignored). */
void np_recording_lost(np_recording *r, np_loss_source source, uint64_t n);

/* The running recording's totals so far (all zero when none runs). */
np_recording_totals np_recording_now(np_recording *r);

#endif
