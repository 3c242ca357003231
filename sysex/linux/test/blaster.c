/*
 * Load for `npm run bench:record`: `blaster HOST PORT RATE SECONDS` sends 64-byte UDP datagrams
 * at RATE per second for SECONDS, paced in 1 ms slices so the rate is sustained, not bursty.
 * It binds HOST:PORT itself first and never reads there: the datagrams have a socket to land in
 * (no ICMP port-unreachable packets mixed into the count). Prints how many it sent: the ground
 * truth the recorders' counts are checked against.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 5) return 2;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &addr.sin_addr);
    int sink = socket(AF_INET, SOCK_DGRAM, 0);
    if (bind(sink, (struct sockaddr *)&addr, sizeof addr) != 0) return 1;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return 1;
    double rate = atof(argv[3]), seconds = atof(argv[4]);
    char payload[64] = {0};
    long sent = 0;
    double start = now();
    for (double elapsed = 0; elapsed < seconds; elapsed = now() - start) {
        long due = (long)(rate * elapsed);
        while (sent < due) {
            if (send(fd, payload, sizeof payload, 0) == sizeof payload) sent++;
        }
        struct timespec slice = {0, 200000};
        nanosleep(&slice, NULL);
    }
    printf("%ld\n", sent);
    return 0;
}
