/*
 * Load for `npm run bench:record`, paced in short slices so a rate is sustained, not bursty:
 *   blaster HOST PORT RATE SECONDS         64-byte UDP datagrams at RATE per second
 *   blaster --tcp HOST PORT RATE SECONDS   TCP connections (connect, accept, close) at RATE per second
 * It listens on (or binds) HOST:PORT itself first, so every packet has a socket to land in (no
 * ICMP or RST mixed into the count). Prints how many datagrams or connections it made: the
 * ground truth the recorders' counts are checked against.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int send_datagram(const struct sockaddr_in *addr) {
    static int fd = -1;
    static char payload[64];
    if (fd < 0 && ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 || connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0)) exit(1);
    return send(fd, payload, sizeof payload, 0) == sizeof payload;
}

static int connect_once(const struct sockaddr_in *addr, int listener) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int ok = connect(fd, (const struct sockaddr *)addr, sizeof *addr) == 0;
    int peer = accept(listener, NULL, NULL);
    /* The server's side closes first and holds TIME_WAIT: the client's ephemeral ports stay free. */
    if (peer >= 0) close(peer);
    close(fd);
    return ok;
}

int main(int argc, char **argv) {
    int tcp = argc == 6 && !strcmp(argv[1], "--tcp");
    if (argc != 5 + tcp) return 2;
    argv += tcp;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &addr.sin_addr);
    int sink = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    int one = 1;
    setsockopt(sink, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(sink, (struct sockaddr *)&addr, sizeof addr) != 0 || (tcp && listen(sink, 4096) != 0)) return 1;
    double rate = atof(argv[3]), seconds = atof(argv[4]);
    long made = 0;
    double start = now();
    for (double elapsed = 0; elapsed < seconds; elapsed = now() - start) {
        for (long due = (long)(rate * elapsed); made < due;) made += tcp ? connect_once(&addr, sink) : send_datagram(&addr);
        struct timespec slice = {0, 200000};
        nanosleep(&slice, NULL);
    }
    printf("%ld\n", made);
    return 0;
}
