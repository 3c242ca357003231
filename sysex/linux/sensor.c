/*
 * netprov Linux sensor, user side (np_sensor.h): loads sensor.bpf.c, captures packets from an
 * AF_PACKET TPACKET_V3 ring per interface, and hands one session stream (recorder/session/SPEC.md),
 * encoded with sysex/common's encoder, to its output until stopped.
 *
 * One session clock: the header holds the realtime start; BPF events (CLOCK_BOOTTIME) and
 * packets (CLOCK_REALTIME) are converted to ns since that start, and both conversions are
 * recorded as clockSync events.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <mntent.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "cgroups.h"
#include "np_sensor.h"
#include "np_session.h"
#include "np_stream.h"
#include "sensor.h"
#include "sensor.skel.h"

#define CHUNK_BYTES (512 * 1024)
#define RING_BLOCK_SIZE (1 << 21)
#define RING_BLOCK_COUNT 8
/* A block reaches user space when full or when this many ms have passed since its first packet. */
#define BLOCK_RETIRE_MS 10
/* Kernel drop counts are read (and so reset) this often, so a loss is placed near its time. */
#define DROP_POLL_NS 1000000000LL
#define SNAPSHOT_MAX 65536

static int64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* TPACKET_V3: every packet once with ns timestamps; on loopback only the outgoing copy. */
struct capture {
    int fd;
    uint8_t *ring;
    unsigned block;
    int interface_id;
    int loopback;
    int link_type;
    char name[IF_NAMESIZE];
};

/* A process alive at start-up: pid -> key, for naming the owners of sockets alive at start-up. */
struct snapshot_entry {
    uint32_t pid;
    char key[48];
};

struct np_sensor {
    struct sensor_bpf *skel;
    struct ring_buffer *rb;
    struct capture captures[NP_SENSOR_MAX_INTERFACES];
    int capture_count;
    int snaplen;
    double duration_seconds;
    char interface_names[NP_SENSOR_MAX_INTERFACES * (IF_NAMESIZE + 1)];

    np_stream *stream;
    np_sensor_output output; /* np_sensor_run's, which the stream hands every piece to */
    void *output_context;
    int64_t start_realtime;
    int64_t start_boottime;
    int64_t last_flush;
    uint64_t ringbuf_lost_reported;

    struct snapshot_entry *snapshot;
    size_t snapshot_count;

    /* UDP sends: the cgroup v2 root the sendmsg programs are attached to, or why sys_exit reports them. */
    char udp_source[PATH_MAX + 64];
    struct bpf_link *cgroup_links[2];
    struct np_cgroups *cgroups; /* cgroup ids to paths; NULL when no cgroup v2 root could be opened */
    uint32_t netns;             /* the sensor's network namespace: its interfaces' and snapshot sockets' */
};

static int forward_output(void *context, const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len) {
    struct np_sensor *s = context;
    return s->output(s->output_context, head, head_len, body, body_len);
}

static void emit(struct np_sensor *s, int kind, int64_t t, const np_field *fields, size_t count) { np_stream_event(s->stream, kind, t, fields, count); }

static void flush(struct np_sensor *s) {
    np_stream_flush(s->stream);
    s->last_flush = clock_ns(CLOCK_MONOTONIC);
}

static void key_of(const struct np_kproc *p, char *out, size_t cap) { snprintf(out, cap, "%u@%llu", p->pid, (unsigned long long)p->start); }

/* A process's cgroup as two fields: its id, and its path when the tree still holds it. */
static void cgroup_fields(struct np_sensor *s, uint64_t id, np_field *out) {
    out[0] = id ? np_int((int64_t)id) : np_nil();
    out[1] = np_str(np_cgroups_path(s->cgroups, id));
}

static int on_kernel_event(void *ctx, void *data, size_t len) {
    struct np_sensor *s = ctx;
    const struct np_kheader *h = data;
    int64_t t = (int64_t)h->boot_ns - s->start_boottime;
    char key[48], other[48];
    (void)len;
    switch (h->type) {
    case NP_K_EXEC: {
        const struct np_kexec *e = data;
        key_of(&e->proc, key, sizeof key);
        key_of(&e->parent, other, sizeof other);
        const char *argv[64];
        size_t argc = 0;
        for (size_t at = 0; at < e->args_len && argc < 64;) {
            size_t n = strnlen(e->args + at, e->args_len - at);
            if (at + n >= e->args_len) break; /* an argument cut off at the buffer's end */
            argv[argc++] = e->args + at;
            at += n + 1;
        }
        np_field f[15] = {np_str(key), np_int(e->proc.pid), np_int((int64_t)e->proc.start), np_int(e->parent.pid), np_str(other), np_int(e->uid),
                          np_str(e->path), np_strs(argv, argc), np_nil(), np_nil(), np_nil(), np_nil(), np_nil() /* former key */};
        cgroup_fields(s, e->cgroup, &f[13]);
        emit(s, NP_EXEC, t, f, 15);
        break;
    }
    case NP_K_FORK: {
        const struct np_kfork *e = data;
        key_of(&e->child, key, sizeof key);
        key_of(&e->parent, other, sizeof other);
        np_field f[7] = {np_str(key), np_int(e->child.pid), np_int((int64_t)e->child.start), np_str(other), np_int(e->parent.pid)};
        cgroup_fields(s, e->cgroup, &f[5]);
        emit(s, NP_FORK, t, f, 7);
        break;
    }
    case NP_K_EXIT: {
        const struct np_kexit *e = data;
        key_of(&e->proc, key, sizeof key);
        np_field f[3] = {np_str(key), np_int(e->proc.pid), np_int(e->code)};
        emit(s, NP_EXIT, t, f, 3);
        break;
    }
    case NP_K_CONNECT:
    case NP_K_ACCEPT:
    case NP_K_UDP_SEND:
    case NP_K_UDP_BIND:
    case NP_K_LISTEN: {
        const struct np_kconnect *e = data;
        int listen = h->type == NP_K_LISTEN || h->type == NP_K_UDP_BIND;
        int accept = h->type == NP_K_ACCEPT;
        int udp = h->type == NP_K_UDP_SEND || h->type == NP_K_UDP_BIND;
        key_of(&e->proc, key, sizeof key);
        char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN], flow[32];
        int af = e->family == 10 ? AF_INET6 : AF_INET;
        inet_ntop(af, e->saddr, local, sizeof local);
        inet_ntop(af, e->daddr, remote, sizeof remote);
        snprintf(flow, sizeof flow, "sk-%llx", (unsigned long long)e->sock);
        np_field f[11] = {np_str(flow), np_str(key), np_int(udp ? 17 : 6), np_str(local), np_int(e->sport),
                          np_str(listen ? (af == AF_INET6 ? "::" : "0.0.0.0") : remote), np_int(listen ? 0 : e->dport),
                          np_int(listen || accept ? 1 /* in */ : 2 /* out */),
                          np_int(listen ? 4 /* listen */ : accept ? 2 /* accept */ : udp ? 3 /* send */ : 1 /* connect */), np_nil(),
                          e->netns ? np_int(e->netns) : np_nil()};
        emit(s, NP_FLOW_OPEN, t, f, 11);
        break;
    }
    case NP_K_CLOSE: {
        const struct np_kconnect *e = data;
        char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN], flow[32];
        int af = e->family == 10 ? AF_INET6 : AF_INET;
        inet_ntop(af, e->saddr, local, sizeof local);
        inet_ntop(af, e->daddr, remote, sizeof remote);
        snprintf(flow, sizeof flow, "sk-%llx", (unsigned long long)e->sock);
        np_field f[9] = {np_str(flow), np_nil(), np_int(6), np_str(local), np_int(e->sport), np_str(remote), np_int(e->dport),
                         np_int((int64_t)e->bytes_in), np_int((int64_t)e->bytes_out)};
        emit(s, NP_FLOW_CLOSE, t, f, 9);
        break;
    }
    }
    return 0;
}

static int open_capture(struct capture *c, const char *interface) {
    c->fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (c->fd < 0) return -1;
    int version = TPACKET_V3;
    struct tpacket_req3 req = {.tp_block_size = RING_BLOCK_SIZE, .tp_block_nr = RING_BLOCK_COUNT, .tp_frame_size = 2048,
                               .tp_frame_nr = RING_BLOCK_SIZE / 2048 * RING_BLOCK_COUNT, .tp_retire_blk_tov = BLOCK_RETIRE_MS};
    if (setsockopt(c->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0 ||
        setsockopt(c->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0)
        return -1;
    c->ring = mmap(NULL, (size_t)RING_BLOCK_SIZE * RING_BLOCK_COUNT, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, c->fd, 0);
    if (c->ring == MAP_FAILED) {
        c->ring = NULL;
        return -1;
    }
    unsigned index = if_nametoindex(interface);
    if (!index) {
        errno = ENODEV;
        return -1;
    }
    struct sockaddr_ll addr = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)index};
    if (bind(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) return -1;
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", interface);
    int hatype = ioctl(c->fd, SIOCGIFHWADDR, &ifr) == 0 ? ifr.ifr_hwaddr.sa_family : ARPHRD_ETHER;
    c->loopback = hatype == ARPHRD_LOOPBACK;
    /* Ethernet framing on Ethernet and loopback; IP straight away on tun-like devices. */
    c->link_type = hatype == ARPHRD_ETHER || hatype == ARPHRD_LOOPBACK ? 1 : 101;
    return 0;
}

static void drain_capture(struct np_sensor *s, struct capture *c) {
    for (;;) {
        struct tpacket_block_desc *block = (struct tpacket_block_desc *)(c->ring + (size_t)c->block * RING_BLOCK_SIZE);
        if (!(block->hdr.bh1.block_status & TP_STATUS_USER)) return;
        struct tpacket3_hdr *p = (struct tpacket3_hdr *)((uint8_t *)block + block->hdr.bh1.offset_to_first_pkt);
        for (unsigned i = 0; i < block->hdr.bh1.num_pkts; i++) {
            struct sockaddr_ll *ll = (struct sockaddr_ll *)((uint8_t *)p + TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
            int outgoing = ll->sll_pkttype == PACKET_OUTGOING;
            if (!c->loopback || outgoing) {
                int64_t t = (int64_t)p->tp_sec * 1000000000LL + p->tp_nsec - s->start_realtime;
                uint32_t caplen = p->tp_snaplen < (uint32_t)s->snaplen ? p->tp_snaplen : (uint32_t)s->snaplen;
                int direction = c->loopback ? 0 : outgoing ? 2 : 1;
                np_stream_packet(s->stream, t, (uint32_t)c->interface_id, direction, p->tp_len, (uint8_t *)p + p->tp_mac, caplen, NULL);
            }
            p = (struct tpacket3_hdr *)((uint8_t *)p + p->tp_next_offset);
        }
        block->hdr.bh1.block_status = TP_STATUS_KERNEL;
        c->block = (c->block + 1) % RING_BLOCK_COUNT;
    }
}

/* Packets the kernel dropped since the last reading (reading resets the kernel's count). */
static void report_drops(struct np_sensor *s, struct capture *c) {
    struct tpacket_stats_v3 stats;
    socklen_t size = sizeof stats;
    if (getsockopt(c->fd, SOL_PACKET, PACKET_STATISTICS, &stats, &size) != 0 || stats.tp_drops == 0) return;
    char reason[64];
    snprintf(reason, sizeof reason, "%s: dropped by the kernel, ring full", c->name);
    np_stream_loss(s->stream, clock_ns(CLOCK_REALTIME) - s->start_realtime, "packet-ring", stats.tp_drops, reason);
}

/* Ring buffer reservations the BPF programs could not make since the last reading. */
static void report_ringbuf_losses(struct np_sensor *s) {
    __u32 zero = 0;
    __u64 lost = 0;
    if (bpf_map__lookup_elem(s->skel->maps.lost, &zero, sizeof zero, &lost, sizeof lost, 0) != 0 || lost <= s->ringbuf_lost_reported) return;
    np_stream_loss(s->stream, clock_ns(CLOCK_BOOTTIME) - s->start_boottime, "bpf-ringbuf", lost - s->ringbuf_lost_reported, "ring buffer full");
    s->ringbuf_lost_reported = lost;
}

/* argv of a live process from /proc/PID/cmdline (NUL-separated); returns the count. */
static size_t proc_cmdline(uint32_t pid, char *buf, size_t cap, const char **argv, size_t max) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%u/cmdline", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    size_t count = 0;
    for (ssize_t at = 0; at < n && count < max; at += (ssize_t)strlen(buf + at) + 1) argv[count++] = buf + at;
    return count;
}

static const char *snapshot_key(const struct np_sensor *s, uint32_t pid) {
    for (size_t i = 0; i < s->snapshot_count; i++)
        if (s->snapshot[i].pid == pid) return s->snapshot[i].key;
    return NULL;
}

/*
 * The processes alive at start-up, as `process` events at time 0: the task iterator gives the
 * same keys (pid@start_boottime) the tracepoints will, /proc gives executable and arguments.
 */
static void snapshot_processes(struct np_sensor *s) {
    struct bpf_link *link = bpf_program__attach_iter(s->skel->progs.snapshot, NULL);
    if (!link) return;
    int fd = bpf_iter_create(bpf_link__fd(link));
    struct np_ksnapshot rec;
    while (fd >= 0 && read(fd, &rec, sizeof rec) == (ssize_t)sizeof rec) {
        char key[48], parent[48], exe[NP_PATH_LEN] = "", link_path[64], args[4096];
        const char *argv[64];
        key_of(&rec.proc, key, sizeof key);
        key_of(&rec.parent, parent, sizeof parent);
        if (s->snapshot_count < SNAPSHOT_MAX) {
            struct snapshot_entry *entry = &s->snapshot[s->snapshot_count++];
            entry->pid = rec.proc.pid;
            snprintf(entry->key, sizeof entry->key, "%s", key);
        }
        snprintf(link_path, sizeof link_path, "/proc/%u/exe", rec.proc.pid);
        ssize_t n = readlink(link_path, exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        size_t argc = proc_cmdline(rec.proc.pid, args, sizeof args, argv, 64);
        np_field f[14] = {np_str(key), np_int(rec.proc.pid), np_int((int64_t)rec.proc.start), np_int(rec.parent.pid),
                          rec.parent.pid ? np_str(parent) : np_nil(), np_int(rec.uid), n > 0 ? np_str(exe) : np_nil(),
                          argc ? np_strs(argv, argc) : np_nil(), np_nil(), np_nil(), np_nil(), np_nil()};
        cgroup_fields(s, rec.cgroup, &f[12]);
        emit(s, NP_PROCESS, 0, f, 14);
    }
    if (fd >= 0) close(fd);
    bpf_link__destroy(link);
}

/* socket inode -> owning pid, from every /proc/PID/fd link "socket:[INODE]". */
struct inode_owner {
    unsigned long inode;
    uint32_t pid;
};

static size_t socket_owners(const struct np_sensor *s, struct inode_owner *out, size_t max) {
    size_t count = 0;
    for (size_t i = 0; i < s->snapshot_count && count < max; i++) {
        char dir[64];
        snprintf(dir, sizeof dir, "/proc/%u/fd", s->snapshot[i].pid);
        DIR *d = opendir(dir);
        if (!d) continue;
        for (struct dirent *e; (e = readdir(d)) && count < max;) {
            char link_path[320], target[64];
            snprintf(link_path, sizeof link_path, "%s/%s", dir, e->d_name);
            ssize_t n = readlink(link_path, target, sizeof target - 1);
            if (n <= 0) continue;
            target[n] = 0;
            unsigned long inode;
            if (sscanf(target, "socket:[%lu]", &inode) == 1) out[count++] = (struct inode_owner){inode, s->snapshot[i].pid};
        }
        closedir(d);
    }
    return count;
}

/* An inet socket alive at start-up, from sock_diag. */
struct live_socket {
    int family, protocol, state;
    char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN];
    unsigned local_port, remote_port;
    unsigned long inode;
};

/*
 * Every socket of one family and protocol in this network namespace, in `states` (a bit per TCP
 * state), from NETLINK_SOCK_DIAG: the kernel's own socket table, without parsing /proc/net text.
 * Calls `found` for each; returns -1 if the dump could not be made.
 */
struct owners {
    struct np_sensor *sensor;
    struct inode_owner *list; /* inode -> pid, for every socket of every snapshot process */
    size_t count;
};

static int dump_sockets(int family, int protocol, uint32_t states, void (*found)(const struct owners *, const struct live_socket *), const struct owners *owners) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -1;
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } query = {
        .header = {.nlmsg_len = sizeof query, .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
        .request = {.sdiag_family = (uint8_t)family, .sdiag_protocol = (uint8_t)protocol, .idiag_states = states},
    };
    if (send(fd, &query, sizeof query, 0) != (ssize_t)sizeof query) {
        close(fd);
        return -1;
    }
    uint8_t buffer[32768];
    for (;;) {
        ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                close(fd);
                return h->nlmsg_type == NLMSG_DONE ? 0 : -1;
            }
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            struct live_socket sock = {.family = m->idiag_family, .protocol = protocol, .state = m->idiag_state,
                                       .local_port = ntohs(m->id.idiag_sport), .remote_port = ntohs(m->id.idiag_dport), .inode = m->idiag_inode};
            inet_ntop(m->idiag_family, m->id.idiag_src, sock.local, sizeof sock.local);
            inet_ntop(m->idiag_family, m->id.idiag_dst, sock.remote, sizeof sock.remote);
            found(owners, &sock);
        }
    }
    close(fd);
    return -1;
}

/* A listening TCP or bound UDP socket is its port's owner; an established one, a flow that exists already. */
static void snapshot_socket(const struct owners *owners, const struct live_socket *sock) {
    struct np_sensor *s = owners->sensor;
    int udp = sock->protocol == IPPROTO_UDP;
    /* UDP: unconnected shows as TCP_CLOSE (7), connected as TCP_ESTABLISHED (1). */
    int listen = udp ? sock->state == 7 : sock->state == 10;
    if (!listen && sock->state != 1) return;
    const char *key = NULL;
    for (size_t i = 0; i < owners->count && !key; i++)
        if (owners->list[i].inode == sock->inode && sock->inode) key = snapshot_key(s, owners->list[i].pid);
    if (!key) return;
    char flow[40];
    snprintf(flow, sizeof flow, "inode-%lu", sock->inode);
    np_field fields[11] = {np_str(flow), np_str(key), np_int(sock->protocol), np_str(sock->local), np_int(sock->local_port), np_str(sock->remote), np_int(sock->remote_port),
                           np_int(listen ? 1 : 0), np_int(listen ? 4 /* listen */ : 5 /* snapshot */), np_nil(), s->netns ? np_int(s->netns) : np_nil()};
    emit(s, NP_FLOW_OPEN, 0, fields, 11);
}

/* The TCP and UDP sockets alive at start-up in this network namespace, each under its owner. */
static void snapshot_sockets(struct np_sensor *s) {
    const size_t max_owners = 1 << 16;
    struct owners owners = {.sensor = s, .list = malloc(max_owners * sizeof *owners.list)};
    if (!owners.list) return;
    owners.count = socket_owners(s, owners.list, max_owners);
    const uint32_t tcp_states = 1u << 10 /* LISTEN */ | 1u << 1 /* ESTABLISHED */, any_state = ~0u;
    for (int v6 = 0; v6 < 2; v6++) {
        int family = v6 ? AF_INET6 : AF_INET;
        dump_sockets(family, IPPROTO_TCP, tcp_states, snapshot_socket, &owners);
        dump_sockets(family, IPPROTO_UDP, any_state, snapshot_socket, &owners);
    }
    free(owners.list);
}

/*
 * The cgroup v2 root, opened: where the system mounted it (/sys/fs/cgroup or
 * /sys/fs/cgroup/unified), or else a mount of our own in a private folder, since a hybrid
 * cgroup v1 system may have none (a mount that lasts only until the root is opened). -1, with
 * the reason in s->udp_source, if neither works.
 */
static int open_cgroup2_root(struct np_sensor *s) {
    char found[PATH_MAX] = "";
    FILE *mounts = setmntent("/proc/self/mounts", "r");
    for (struct mntent *m; mounts && (m = getmntent(mounts));)
        if (!strcmp(m->mnt_type, "cgroup2")) {
            snprintf(found, sizeof found, "%s", m->mnt_dir);
            break;
        }
    if (mounts) endmntent(mounts);
    if (!found[0]) {
        char dir[] = "/tmp/netprov-cgroup2-XXXXXX";
        if (!mkdtemp(dir) || mount("none", dir, "cgroup2", 0, NULL) != 0) {
            snprintf(s->udp_source, sizeof s->udp_source, "UDP sends: sys_exit (cgroup v2 not found and not mountable: %s)", strerror(errno));
            rmdir(dir);
            return -1;
        }
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int saved = errno;
        /* The open descriptor is all the attachment needs: the mount goes at once, so nothing is
         * left behind even if the sensor is killed. */
        umount2(dir, MNT_DETACH);
        rmdir(dir);
        if (fd >= 0) snprintf(s->udp_source, sizeof s->udp_source, "UDP sends: cgroup/sendmsg4+6 on the cgroup v2 root (mounted by the sensor)");
        else snprintf(s->udp_source, sizeof s->udp_source, "UDP sends: sys_exit (cgroup v2: %s)", strerror(saved));
        return fd;
    }
    int fd = open(found, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) snprintf(s->udp_source, sizeof s->udp_source, "UDP sends: cgroup/sendmsg4+6 on the cgroup v2 root %s", found);
    else snprintf(s->udp_source, sizeof s->udp_source, "UDP sends: sys_exit (%s: %s)", found, strerror(errno));
    return fd;
}

/* Loads and attaches the programs; UDP sends from the cgroup hooks when `cgroup_fd` >= 0. */
/* Whether the running kernel has tracepoint `name` (tcp_receive_reset came in 6.10). */
static int kernel_has_tracepoint(const char *name) {
    char typedef_name[128];
    snprintf(typedef_name, sizeof typedef_name, "btf_trace_%s", name);
    struct btf *vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) return 0;
    int found = btf__find_by_name_kind(vmlinux, typedef_name, BTF_KIND_TYPEDEF) > 0;
    btf__free(vmlinux);
    return found;
}

static int load_programs(struct np_sensor *s, int cgroup_fd) {
    s->skel = sensor_bpf__open();
    if (!s->skel) return -1;
    /* Without it, a refused connect is recorded without its local port (kernels before 6.10). */
    bpf_program__set_autoload(s->skel->progs.on_reset, kernel_has_tracepoint("tcp_receive_reset"));
    int from_cgroup = cgroup_fd >= 0;
    s->skel->rodata->udp_sends_from_cgroup = from_cgroup;
    bpf_program__set_autoload(s->skel->progs.on_udp_sendmsg4, from_cgroup);
    bpf_program__set_autoload(s->skel->progs.on_udp_sendmsg6, from_cgroup);
    if (sensor_bpf__load(s->skel) || sensor_bpf__attach(s->skel)) return -1;
    if (!from_cgroup) return 0;
    s->cgroup_links[0] = bpf_program__attach_cgroup(s->skel->progs.on_udp_sendmsg4, cgroup_fd);
    s->cgroup_links[1] = bpf_program__attach_cgroup(s->skel->progs.on_udp_sendmsg6, cgroup_fd);
    return s->cgroup_links[0] && s->cgroup_links[1] ? 0 : -1;
}

static void unload_programs(struct np_sensor *s) {
    for (int i = 0; i < 2; i++) bpf_link__destroy(s->cgroup_links[i]);
    s->cgroup_links[0] = s->cgroup_links[1] = NULL;
    sensor_bpf__destroy(s->skel);
    s->skel = NULL;
}

/* Gives up opening: the reason into `error`, whatever was opened closed. */
static struct np_sensor *refuse(struct np_sensor *s, char *error, size_t cap, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(error, cap, format, args);
    va_end(args);
    np_sensor_close(s);
    return NULL;
}

struct np_sensor *np_sensor_open(const struct np_sensor_options *options, char *error, size_t error_cap) {
    if (geteuid() != 0) return refuse(NULL, error, error_cap, "needs root (CAP_BPF, CAP_PERFMON and CAP_NET_RAW) to load eBPF programs and open a packet socket");
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
        return refuse(NULL, error, error_cap, "this kernel has no BTF (/sys/kernel/btf/vmlinux): the eBPF programs cannot be loaded");
    struct np_sensor *s = calloc(1, sizeof *s);
    if (s) s->snapshot = calloc(SNAPSHOT_MAX, sizeof *s->snapshot);
    if (s) s->stream = np_stream_new(CHUNK_BYTES, forward_output, s);
    if (!s || !s->snapshot || !s->stream) return refuse(s, error, error_cap, "out of memory");
    s->snaplen = options->snaplen > 0 ? options->snaplen : 262144;
    s->duration_seconds = options->duration_seconds;
    struct stat own_netns;
    if (stat("/proc/self/ns/net", &own_netns) == 0) s->netns = (uint32_t)own_netns.st_ino;
    for (int i = 0; i < NP_SENSOR_MAX_INTERFACES; i++) s->captures[i].fd = -1;

    const char *names[NP_SENSOR_MAX_INTERFACES];
    int count = 0;
    struct if_nameindex *all = NULL;
    if (options->interface_count > 0) {
        for (int i = 0; i < options->interface_count && count < NP_SENSOR_MAX_INTERFACES; i++) names[count++] = options->interfaces[i];
    } else {
        all = if_nameindex();
        for (struct if_nameindex *i = all; i && i->if_index && count < NP_SENSOR_MAX_INTERFACES; i++) names[count++] = i->if_name;
    }
    for (int i = 0; i < count; i++) {
        struct capture *c = &s->captures[i];
        snprintf(c->name, sizeof c->name, "%s", names[i]);
        snprintf(s->interface_names + strlen(s->interface_names), sizeof s->interface_names - strlen(s->interface_names), "%s%s", i ? "," : "", c->name);
    }
    if (all) if_freenameindex(all);

    libbpf_set_print(NULL);
    int cgroup_fd = open_cgroup2_root(s);
    int hooks_attached = cgroup_fd >= 0 && load_programs(s, cgroup_fd) == 0;
    if (cgroup_fd >= 0 && !hooks_attached) {
        /* The cgroup hooks would not attach: sys_exit reports UDP sends instead. */
        snprintf(s->udp_source, sizeof s->udp_source, "UDP sends: sys_exit (the cgroup sendmsg programs did not attach: %s)", strerror(errno));
        unload_programs(s);
    }
    if (!hooks_attached && load_programs(s, -1) != 0) {
        if (cgroup_fd >= 0) close(cgroup_fd);
        return refuse(s, error, error_cap, "cannot load or attach the eBPF programs (%s)", strerror(errno));
    }
    /* The links hold the cgroup; the descriptor stays to read cgroup paths from. */
    if (cgroup_fd >= 0) s->cgroups = np_cgroups_open(cgroup_fd);
    for (int i = 0; i < count; i++) {
        struct capture *c = &s->captures[i];
        c->interface_id = i;
        s->capture_count = i + 1;
        if (open_capture(c, c->name) != 0) return refuse(s, error, error_cap, "%s: cannot capture (%s)", c->name, errno == ENODEV ? "no such interface" : strerror(errno));
    }
    s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_kernel_event, s, NULL);
    if (!s->rb) return refuse(s, error, error_cap, "cannot open the BPF ring buffer (%s)", strerror(errno));
    return s;
}

/* Everything waiting in the rings: kernel events first, so a connect is recorded before the SYN it sends. */
static void drain(struct np_sensor *s) {
    ring_buffer__consume(s->rb);
    for (int i = 0; i < s->capture_count; i++) drain_capture(s, &s->captures[i]);
}

int np_sensor_run(struct np_sensor *s, np_sensor_output output, void *context, const volatile int *stop) {
    s->output = output;
    s->output_context = context;
    s->start_realtime = clock_ns(CLOCK_REALTIME);
    s->start_boottime = clock_ns(CLOCK_BOOTTIME);
    s->last_flush = clock_ns(CLOCK_MONOTONIC);
    char notes[768];
    snprintf(notes, sizeof notes, "BPF events: CLOCK_BOOTTIME - %lld; packets on %s: CLOCK_REALTIME - start_ns (TPACKET_V3)", (long long)s->start_boottime,
             s->interface_names);
    np_stream_begin(s->stream, "netprov-linux", "0.1.0", s->start_realtime, notes);
    for (int i = 0; i < s->capture_count; i++) {
        np_field iface[5] = {np_int(i), np_str(s->captures[i].name), np_int(s->captures[i].link_type), np_int(s->snaplen), s->netns ? np_int(s->netns) : np_nil()};
        emit(s, NP_INTERFACE, 0, iface, 5);
    }
    np_field sync_boot[3] = {np_str("CLOCK_BOOTTIME"), np_int(s->start_boottime), np_str("BPF event times minus this value")};
    emit(s, NP_CLOCK_SYNC, 0, sync_boot, 3);
    np_field sync_real[3] = {np_str("CLOCK_REALTIME"), np_int64(s->start_realtime), np_str("packet times minus this value")};
    emit(s, NP_CLOCK_SYNC, 0, sync_real, 3);
    np_field udp_source[1] = {np_str(s->udp_source)};
    emit(s, NP_MARK, 0, udp_source, 1);
    snapshot_processes(s);
    snapshot_sockets(s);

    int64_t deadline = s->duration_seconds > 0 ? clock_ns(CLOCK_MONOTONIC) + (int64_t)(s->duration_seconds * 1e9) : 0;
    int64_t drops_read = clock_ns(CLOCK_MONOTONIC);
    while (!*stop && !np_stream_failed(s->stream) && (!deadline || clock_ns(CLOCK_MONOTONIC) < deadline)) {
        struct pollfd pfd[NP_SENSOR_MAX_INTERFACES];
        for (int i = 0; i < s->capture_count; i++) pfd[i] = (struct pollfd){.fd = s->captures[i].fd, .events = POLLIN};
        poll(pfd, (nfds_t)s->capture_count, 5);
        drain(s);
        report_ringbuf_losses(s);
        int64_t now = clock_ns(CLOCK_MONOTONIC);
        if (now - drops_read > DROP_POLL_NS) {
            for (int i = 0; i < s->capture_count; i++) report_drops(s, &s->captures[i]);
            drops_read = now;
        }
        if (now - s->last_flush > 100000000LL) flush(s);
    }
    /* The last packets sit in a block the kernel has not retired yet: let its timeout pass. */
    usleep(3 * BLOCK_RETIRE_MS * 1000);
    drain(s);
    report_ringbuf_losses(s);
    for (int i = 0; i < s->capture_count; i++) report_drops(s, &s->captures[i]);
    np_stream_end(s->stream, clock_ns(CLOCK_REALTIME) - s->start_realtime);
    return np_stream_failed(s->stream) ? -1 : 0;
}

void np_sensor_counts(const struct np_sensor *s, np_stream_counts *out) { np_stream_get_counts(s->stream, out); }

const char *np_sensor_interfaces(const struct np_sensor *s) { return s->interface_names; }

void np_sensor_close(struct np_sensor *s) {
    if (!s) return;
    for (int i = 0; i < s->capture_count; i++) {
        if (s->captures[i].ring) munmap(s->captures[i].ring, (size_t)RING_BLOCK_SIZE * RING_BLOCK_COUNT);
        if (s->captures[i].fd >= 0) close(s->captures[i].fd);
    }
    if (s->rb) ring_buffer__free(s->rb);
    unload_programs(s);
    np_cgroups_close(s->cgroups);
    np_stream_free(s->stream);
    free(s->snapshot);
    free(s);
}
