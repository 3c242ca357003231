/*
 * Ground-truth actors for the attribution scorecard (test/scorecard): each mode opens flows in
 * one of the ways attribution can go wrong, and prints for every flow the process that opened
 * it, as the scorecard's truth:
 *
 *   truth PROTO ADDR PORT PID START_TICKS EXE    (START_TICKS: /proc/PID/stat's start time)
 *   truth PROTO ADDR PORT none                   (no process: expected unattributed)
 *
 * Modes (HOST PORT is the server; every TCP flow sends a line and reads the reply):
 *   serve tcp:PORT|tcp6:PORT|udp:PORT|udpsink:PORT ...
 *                                          servers: TCP (Fast Open on; one reply, then FIN), UDP echo,
 *                                          UDP that only receives (no reply to a socket already closed:
 *                                          no ICMP from the kernel); prints "ready"
 *   connect HOST PORT                      connect, send, exit at once
 *   thread HOST PORT                       a second thread of a multi-threaded process opens it
 *   fork-child HOST PORT                   the parent makes the socket, only its child connects and sends
 *   pass-fd HOST PORT                      the socket is passed over a Unix socket (SCM_RIGHTS); the receiver connects
 *   exec-after HOST PORT                   connect, then exec /bin/sh, which sends on the inherited socket
 *   sendfile HOST PORT                     connect, then sendfile() a file
 *   tfo HOST PORT                          TCP Fast Open: data in the SYN (twice: the first fetches the cookie)
 *   uring HOST TCP_PORT UDP_PORT           io_uring connect + send (TCP), io_uring sendmsg (UDP)
 *   reuse HOST PORT1 PORT2                 two processes with the same pid, one after the other
 *   raw IFACE SRC DST PORT                 a UDP datagram written by hand through AF_PACKET
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "actor: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* This process's start time in clock ticks since boot (field 22 of /proc/self/stat). */
static unsigned long long start_ticks(void) {
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f || !fgets(buf, sizeof buf, f)) die("/proc/self/stat");
    fclose(f);
    char *p = strrchr(buf, ')');
    unsigned long long ticks = 0;
    for (int field = 2; p && *p; p++)
        if (*p == ' ' && ++field == 22) {
            ticks = strtoull(p + 1, NULL, 10);
            break;
        }
    return ticks;
}

static void truth(const char *proto, const char *host, int port) {
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    const char *base = strrchr(exe, '/');
    printf("truth %s %s %d %d %llu %s\n", proto, host, port, getpid(), start_ticks(), base ? base + 1 : exe);
    fflush(stdout);
}

static socklen_t address(const char *host, int port, struct sockaddr_storage *out) {
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)port);
        return sizeof *v4;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((unsigned short)port);
        return sizeof *v6;
    }
    errno = EINVAL;
    die(host);
    return 0;
}

static int tcp_socket(const char *host) { return socket(strchr(host, ':') ? AF_INET6 : AF_INET, SOCK_STREAM, 0); }

static void tcp_connect(int fd, const char *host, int port) {
    struct sockaddr_storage addr;
    socklen_t len = address(host, port, &addr);
    if (connect(fd, (struct sockaddr *)&addr, len) != 0) die("connect");
}

/* One line out, the reply back: the flow carries data both ways. */
static void converse(int fd) {
    char reply[64];
    if (write(fd, "hello\n", 6) != 6) die("write");
    if (read(fd, reply, sizeof reply) <= 0) die("read");
}

static int mode_connect(const char *host, int port) {
    int fd = tcp_socket(host);
    tcp_connect(fd, host, port);
    truth("tcp", host, port);
    converse(fd);
    return 0;
}

struct thread_job {
    const char *host;
    int port;
};

static void *thread_main(void *arg) {
    struct thread_job *job = arg;
    mode_connect(job->host, job->port);
    return NULL;
}

static void *idle(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

static int mode_thread(const char *host, int port) {
    struct thread_job job = {host, port};
    pthread_t threads[3];
    /* Several threads, only the last opens a socket: its tid is not the process's pid. */
    for (int i = 0; i < 3; i++)
        if (pthread_create(&threads[i], NULL, i == 2 ? thread_main : idle, i == 2 ? &job : NULL) != 0) die("pthread_create");
    pthread_join(threads[2], NULL);
    return 0;
}

static int mode_fork_child(const char *host, int port) {
    int fd = tcp_socket(host);
    pid_t child = fork();
    if (child == 0) {
        tcp_connect(fd, host, port);
        truth("tcp", host, port);
        converse(fd);
        _exit(0);
    }
    close(fd);
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int mode_pass_fd(const char *host, int port) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) die("socketpair");
    pid_t receiver = fork();
    if (receiver == 0) {
        close(pair[0]);
        char byte;
        char control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {&byte, 1};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
        if (recvmsg(pair[1], &msg, 0) != 1) die("recvmsg");
        int fd;
        memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof fd);
        tcp_connect(fd, host, port);
        truth("tcp", host, port);
        converse(fd);
        _exit(0);
    }
    close(pair[1]);
    int fd = tcp_socket(host); /* made after the fork: the receiver has it only by the message */
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = {"x", 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(pair[0], &msg, 0) != 1) die("sendmsg");
    close(fd);
    int status;
    waitpid(receiver, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int mode_exec_after(const char *host, int port) {
    int fd = tcp_socket(host);
    tcp_connect(fd, host, port);
    truth("tcp", host, port);
    if (dup2(fd, 3) < 0) die("dup2");
    execl("/bin/sh", "sh", "-c", "echo hello >&3; head -c 1 <&3 >/dev/null", (char *)NULL);
    die("exec");
    return 1;
}

static int mode_sendfile(const char *host, int port) {
    int fd = tcp_socket(host);
    tcp_connect(fd, host, port);
    truth("tcp", host, port);
    int file = open("/proc/self/exe", O_RDONLY);
    off_t offset = 0;
    if (file < 0 || sendfile(fd, file, &offset, 4096) <= 0) die("sendfile");
    char reply[64];
    if (read(fd, reply, sizeof reply) <= 0) die("read");
    return 0;
}

static int mode_tfo(const char *host, int port) {
    for (int i = 0; i < 2; i++) {
        int fd = tcp_socket(host);
        struct sockaddr_storage addr;
        socklen_t len = address(host, port, &addr);
        /* connect and the first data in one call: the SYN carries it once a cookie is known */
        if (sendto(fd, "hello\n", 6, MSG_FASTOPEN, (struct sockaddr *)&addr, len) != 6) die("sendto MSG_FASTOPEN");
        truth("tcp", host, port);
        char reply[64];
        if (read(fd, reply, sizeof reply) <= 0) die("read");
        close(fd);
    }
    return 0;
}

static void uring_wait(struct io_uring *ring, const char *what) {
    struct io_uring_cqe *cqe;
    if (io_uring_submit(ring) < 0 || io_uring_wait_cqe(ring, &cqe) != 0) die(what);
    if (cqe->res < 0) {
        errno = -cqe->res;
        die(what);
    }
    io_uring_cqe_seen(ring, cqe);
}

static int mode_uring(const char *host, int tcp_port, int udp_port) {
    struct io_uring ring;
    if (io_uring_queue_init(8, &ring, 0) != 0) die("io_uring_queue_init");
    struct sockaddr_storage addr;
    socklen_t len = address(host, tcp_port, &addr);
    int fd = tcp_socket(host);
    io_uring_prep_connect(io_uring_get_sqe(&ring), fd, (struct sockaddr *)&addr, len);
    uring_wait(&ring, "io_uring connect");
    truth("tcp", host, tcp_port);
    io_uring_prep_send(io_uring_get_sqe(&ring), fd, "hello\n", 6, 0);
    uring_wait(&ring, "io_uring send");
    char reply[64];
    io_uring_prep_recv(io_uring_get_sqe(&ring), fd, reply, sizeof reply, 0);
    uring_wait(&ring, "io_uring recv");

    int udp = socket(strchr(host, ':') ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    len = address(host, udp_port, &addr);
    struct iovec iov = {"ping", 4};
    struct msghdr msg = {.msg_name = &addr, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
    io_uring_prep_sendmsg(io_uring_get_sqe(&ring), udp, &msg, 0);
    uring_wait(&ring, "io_uring sendmsg");
    truth("udp", host, udp_port);
    io_uring_prep_recv(io_uring_get_sqe(&ring), udp, reply, sizeof reply, 0);
    uring_wait(&ring, "io_uring recv");
    io_uring_queue_exit(&ring);
    return 0;
}

/* pid reuse: a first process connects and exits; the next pid handed out is made its pid again. */
static int mode_reuse(const char *host, int port1, int port2) {
    pid_t first = fork();
    if (first == 0) {
        mode_connect(host, port1);
        _exit(0);
    }
    waitpid(first, NULL, 0);
    for (int attempt = 0; attempt < 200; attempt++) {
        int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
        char value[32];
        int n = snprintf(value, sizeof value, "%d", first - 1);
        if (fd < 0 || write(fd, value, (size_t)n) != n) die("/proc/sys/kernel/ns_last_pid (needs root)");
        close(fd);
        pid_t second = fork();
        if (second == 0) {
            if (getpid() != first) _exit(3); /* another process took the pid first: try again */
            mode_connect(host, port2);
            _exit(0);
        }
        int status;
        waitpid(second, &status, 0);
        if (second == first) return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    fprintf(stderr, "actor: could not get pid %d again\n", first);
    return 1;
}

static unsigned short checksum(const void *data, size_t len) {
    const unsigned char *p = data;
    unsigned long sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) sum += (unsigned long)(p[i] << 8 | p[i + 1]);
    if (len & 1) sum += (unsigned long)(p[len - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return htons((unsigned short)~sum);
}

/* A UDP datagram that no socket sent: Ethernet, IPv4 and UDP headers written here. */
static int mode_raw(const char *iface, const char *src, const char *dst, int port) {
    int fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    if (fd < 0) die("socket AF_PACKET");
    unsigned char packet[sizeof(struct iphdr) + sizeof(struct udphdr) + 4];
    struct iphdr *ip = (struct iphdr *)packet;
    struct udphdr *udp = (struct udphdr *)(ip + 1);
    memset(packet, 0, sizeof packet);
    memcpy(udp + 1, "raw!", 4);
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons(sizeof packet);
    inet_pton(AF_INET, src, &ip->saddr);
    inet_pton(AF_INET, dst, &ip->daddr);
    ip->check = checksum(ip, sizeof *ip);
    udp->source = htons(40000);
    udp->dest = htons((unsigned short)port);
    udp->len = htons(sizeof *udp + 4);
    struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = (int)if_nametoindex(iface), .sll_halen = 6};
    memset(to.sll_addr, 0xff, 6);
    if (sendto(fd, packet, sizeof packet, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)sizeof packet) die("sendto AF_PACKET");
    printf("truth udp %s %d none\n", dst, port);
    return 0;
}

/* Servers for every client mode: TCP (Fast Open on) answering the first read and closing, UDP echo, UDP sink. */
static int mode_serve(int argc, char **argv) {
    struct pollfd fds[64];
    int kinds[64]; /* 0 TCP listener, 1 UDP echo, 2 TCP connection, 3 UDP sink */
    int count = 0;
    for (int i = 0; i < argc && count < 16; i++) {
        int port = atoi(strchr(argv[i], ':') + 1);
        int v6 = !strncmp(argv[i], "tcp6:", 5), sink = !strncmp(argv[i], "udpsink:", 8), udp = sink || !strncmp(argv[i], "udp:", 4);
        int fd = socket(v6 ? AF_INET6 : AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
        int one = 1, queue = 16;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_storage addr;
        socklen_t len = address(v6 ? "::" : "0.0.0.0", port, &addr);
        if (bind(fd, (struct sockaddr *)&addr, len) != 0) die(argv[i]);
        if (!udp && (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &queue, sizeof queue) != 0 || listen(fd, 64) != 0)) die("listen");
        fds[count] = (struct pollfd){.fd = fd, .events = POLLIN};
        kinds[count++] = sink ? 3 : udp ? 1 : 0;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        if (poll(fds, (nfds_t)count, -1) < 0) die("poll");
        for (int i = 0; i < count; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[8192];
            if (kinds[i] == 0) {
                int c = accept(fds[i].fd, NULL, NULL);
                if (c >= 0 && count < 64) {
                    fds[count] = (struct pollfd){.fd = c, .events = POLLIN};
                    kinds[count++] = 2;
                } else if (c >= 0) close(c);
            } else if (kinds[i] == 3) {
                if (recv(fds[i].fd, buf, sizeof buf, 0) < 0) die("recv");
            } else if (kinds[i] == 1) {
                struct sockaddr_storage from;
                socklen_t len = sizeof from;
                ssize_t n = recvfrom(fds[i].fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
                if (n > 0) sendto(fds[i].fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
            } else {
                /* One reply, then close: an HTTP/0.9 client (curl --http0.9) reads until the close. */
                ssize_t n = read(fds[i].fd, buf, sizeof buf);
                if (n > 0 && write(fds[i].fd, "ok\n", 3) == 3) shutdown(fds[i].fd, SHUT_WR);
                if (n <= 0) {
                    close(fds[i].fd);
                    fds[i] = fds[--count];
                    kinds[i] = kinds[count];
                    i--;
                }
            }
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 3 && !strcmp(argv[1], "serve")) return mode_serve(argc - 2, argv + 2);
    if (argc == 4) {
        const char *host = argv[2];
        int port = atoi(argv[3]);
        if (!strcmp(argv[1], "connect")) return mode_connect(host, port);
        if (!strcmp(argv[1], "thread")) return mode_thread(host, port);
        if (!strcmp(argv[1], "fork-child")) return mode_fork_child(host, port);
        if (!strcmp(argv[1], "pass-fd")) return mode_pass_fd(host, port);
        if (!strcmp(argv[1], "exec-after")) return mode_exec_after(host, port);
        if (!strcmp(argv[1], "sendfile")) return mode_sendfile(host, port);
        if (!strcmp(argv[1], "tfo")) return mode_tfo(host, port);
    }
    if (argc == 5 && !strcmp(argv[1], "uring")) return mode_uring(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc == 5 && !strcmp(argv[1], "reuse")) return mode_reuse(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc == 6 && !strcmp(argv[1], "raw")) return mode_raw(argv[2], argv[3], argv[4], atoi(argv[5]));
    fprintf(stderr, "usage: actor MODE ... (see the comment at the top of actor.c)\n");
    return 2;
}
