/*
 * netprov-sensor: the Linux sensor (np_sensor.h) writing its session to a file or stdout until
 * SIGINT/SIGTERM or --duration.
 *
 *   netprov-sensor --output SESSION [--interface IFACE]... [--duration SECONDS] [--snaplen N]
 *
 * Without --interface it captures every interface of its network namespace. --output - writes
 * the session stream to stdout, for a reader on a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "np_sensor.h"
#include "np_session.h"

static volatile int stopping;
static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

static int write_all(int fd, const uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_piece(void *context, const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len) {
    int fd = *(int *)context;
    if (write_all(fd, head, head_len) == 0 && write_all(fd, body, body_len) == 0) return 0;
    fprintf(stderr, "netprov-sensor: write: %s\n", strerror(errno));
    return -1;
}

static void usage(void) {
    fprintf(stderr, "usage: netprov-sensor --output SESSION [--interface IFACE]... [--duration SECONDS] [--snaplen N]\n");
    exit(1);
}

int main(int argc, char **argv) {
    const char *interfaces[NP_SENSOR_MAX_INTERFACES];
    struct np_sensor_options options = {.interfaces = interfaces};
    const char *output = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--interface") && i + 1 < argc && options.interface_count < NP_SENSOR_MAX_INTERFACES) interfaces[options.interface_count++] = argv[++i];
        else if (!strcmp(argv[i], "--output") && i + 1 < argc) output = argv[++i];
        else if (!strcmp(argv[i], "--duration") && i + 1 < argc) options.duration_seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--snaplen") && i + 1 < argc) options.snaplen = atoi(argv[++i]);
        else usage();
    }
    if (!output) usage();
    char error[256];
    struct np_sensor *sensor = np_sensor_open(&options, error, sizeof error);
    if (!sensor) {
        fprintf(stderr, "netprov-sensor: %s\n", error);
        return 1;
    }
    int to_stdout = !strcmp(output, "-");
    int fd = to_stdout ? STDOUT_FILENO : open(output, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        fprintf(stderr, "netprov-sensor: %s: cannot create (%s)\n", output, strerror(errno));
        return 1;
    }
    if (!to_stdout) fchmod(fd, 0600); /* open's mode applies only when it creates the file */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN); /* a reader gone is a write error, reported as such */
    /* Ready: the programs are attached and the rings open; the caller may start its traffic. */
    fprintf(stderr, "netprov-sensor: recording %s to %s\n", np_sensor_interfaces(sensor), output);
    int failed = np_sensor_run(sensor, write_piece, &fd, &stopping);
    np_stream_counts counts;
    np_sensor_counts(sensor, &counts);
    uint64_t events = 0;
    for (size_t i = 0; i < sizeof counts.events / sizeof counts.events[0]; i++) events += counts.events[i];
    if (fsync(fd) != 0 && !to_stdout) failed = 1;
    close(fd);
    np_sensor_close(sensor);
    fprintf(stderr, "netprov-sensor: %llu events\n", (unsigned long long)events);
    return failed ? 2 : 0;
}
