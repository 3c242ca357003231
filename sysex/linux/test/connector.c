/*
 * Ground-truth clients for the sensor test: `connector HOST PORT` connects once and exits at
 * once; `connector --fork HOST PORT` forks, and the child connects; `connector --udp HOST PORT`
 * sends one datagram with sendto() from an unbound socket, `connector --sendmmsg HOST PORT` two
 * with one sendmmsg() (as resolvers send A and AAAA queries). Each prints the pid that made the
 * flow, so the test knows which process opened which; the UDP senders also print their source
 * port on stderr: two unbound senders may draw the same one, and their datagrams are then one flow.
 */
#define _GNU_SOURCE /* sendmmsg */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int connect_once(const char *host, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    int ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    printf("%d\n", getpid());
    fflush(stdout);
    close(fd);
    return ok ? 0 : 1;
}

static void print_source_port(int fd) {
    struct sockaddr_in local;
    socklen_t length = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &length) == 0) fprintf(stderr, "source port %d\n", ntohs(local.sin_port));
}

static int send_once(const char *host, int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    int ok = sendto(fd, "ping", 4, 0, (struct sockaddr *)&addr, sizeof addr) == 4;
    print_source_port(fd);
    printf("%d\n", getpid());
    fflush(stdout);
    close(fd);
    return ok ? 0 : 1;
}

static int send_batch(const char *host, int port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    struct iovec payload[2] = {{.iov_base = "one", .iov_len = 3}, {.iov_base = "two", .iov_len = 3}};
    struct mmsghdr messages[2];
    memset(messages, 0, sizeof messages);
    for (int i = 0; i < 2; i++) {
        messages[i].msg_hdr.msg_name = &addr;
        messages[i].msg_hdr.msg_namelen = sizeof addr;
        messages[i].msg_hdr.msg_iov = &payload[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    int ok = sendmmsg(fd, messages, 2, 0) == 2;
    print_source_port(fd);
    printf("%d\n", getpid());
    fflush(stdout);
    close(fd);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--udp") == 0) return send_once(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "--sendmmsg") == 0) return send_batch(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "--fork") == 0) {
        pid_t child = fork();
        if (child == 0) return connect_once(argv[2], atoi(argv[3]));
        int status;
        waitpid(child, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    if (argc != 3) return 2;
    return connect_once(argv[1], atoi(argv[2]));
}
