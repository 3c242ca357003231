/*
 * The Linux sensor as a library: load the eBPF programs and open the packet rings, then run,
 * handing the session stream (recorder/session/SPEC.md) to an output function until told to
 * stop. The sensor knows nothing of files: main.c writes the stream to a file or stdout, and
 * recorder/native hands it to JavaScript.
 */
#ifndef NP_SENSOR_H
#define NP_SENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "np_stream.h"

#define NP_SENSOR_MAX_INTERFACES 32

struct np_sensor_options {
    const char *const *interfaces; /* NULL or empty: every interface of the network namespace */
    int interface_count;
    int snaplen;                   /* bytes kept of each packet; 0: 262144 */
    double duration_seconds;       /* 0: until stopped */
};

/* Receives the session stream in whole pieces, on the sensor's thread (np_stream.h). */
typedef np_stream_output np_sensor_output;

struct np_sensor;

/* Checks privileges and BTF, loads and attaches the programs, opens every packet ring. NULL on
 * failure, with a one-line reason in `error` ("needs root (...)", "eth9: cannot capture (...)"). */
struct np_sensor *np_sensor_open(const struct np_sensor_options *options, char *error, size_t error_cap);

/* Writes the header, the start-up snapshot, then events until *stop is set or the duration has
 * passed; drains the rings and writes the trailer. 0, or -1 if the output refused a piece. */
int np_sensor_run(struct np_sensor *sensor, np_sensor_output output, void *context, const volatile int *stop);

/* Running totals (events by kind, losses, bytes handed over), from any thread. */
void np_sensor_counts(const struct np_sensor *sensor, np_stream_counts *out);

/* The interfaces being captured, comma-separated (for messages). */
const char *np_sensor_interfaces(const struct np_sensor *sensor);

void np_sensor_close(struct np_sensor *sensor);

#endif
