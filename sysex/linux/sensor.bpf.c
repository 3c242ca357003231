// netprov Linux sensor, kernel side: process exec/fork/exit and outbound TCP connects, read
// synchronously in the task that does them, so a process that exits at once is still complete.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sensor.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7
#define TCP_LISTEN 10

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Reservations that failed (ring full): reported as loss events. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} lost SEC(".maps");

static __always_inline void *reserve(__u64 size) {
    void *e = bpf_ringbuf_reserve(&events, size, 0);
    if (!e) {
        __u32 zero = 0;
        __u64 *n = bpf_map_lookup_elem(&lost, &zero);
        if (n) __sync_fetch_and_add(n, 1);
    }
    return e;
}

static __always_inline void proc_of(struct task_struct *t, struct np_kproc *out) {
    struct task_struct *leader = BPF_CORE_READ(t, group_leader);
    out->pid = BPF_CORE_READ(t, tgid);
    out->start = BPF_CORE_READ(leader, start_boottime);
}

/* The cgroup v2 id: what container tooling and systemd put a process in (its path is read in user space). */
static __always_inline __u64 cgroup_of(struct task_struct *t) { return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id); }

static __always_inline __u32 netns_of_sock(const struct sock *sk) { return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum); }

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
    struct np_kexec *e = reserve(sizeof(*e));
    if (!e) return 0;
    e->h.type = NP_K_EXEC;
    e->h.boot_ns = bpf_ktime_get_boot_ns();
    proc_of(p, &e->proc);
    proc_of(BPF_CORE_READ(p, real_parent), &e->parent);
    e->uid = bpf_get_current_uid_gid() & 0xffffffff;
    e->cgroup = cgroup_of(p);
    bpf_probe_read_kernel_str(e->path, sizeof(e->path), BPF_CORE_READ(bprm, filename));
    unsigned long start = BPF_CORE_READ(p, mm, arg_start);
    unsigned long end = BPF_CORE_READ(p, mm, arg_end);
    __u64 len = end > start ? end - start : 0;
    if (len > NP_ARGS_LEN) len = NP_ARGS_LEN;
    e->args_len = 0;
    if (len > 0 && bpf_probe_read_user(e->args, len, (void *)start) == 0) e->args_len = len;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child) {
    if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid)) return 0; /* a thread, not a process */
    struct np_kfork *e = reserve(sizeof(*e));
    if (!e) return 0;
    e->h.type = NP_K_FORK;
    e->h.boot_ns = bpf_ktime_get_boot_ns();
    proc_of(parent, &e->parent);
    e->child.pid = BPF_CORE_READ(child, tgid);
    e->child.start = BPF_CORE_READ(child, start_boottime);
    e->cgroup = cgroup_of(child);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p) {
    if (BPF_CORE_READ(p, pid) != BPF_CORE_READ(p, tgid)) return 0; /* only the leader ends the process */
    struct np_kexit *e = reserve(sizeof(*e));
    if (!e) return 0;
    e->h.type = NP_K_EXIT;
    e->h.boot_ns = bpf_ktime_get_boot_ns();
    proc_of(p, &e->proc);
    e->code = BPF_CORE_READ(p, exit_code);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/*
 * CLOSE -> SYN_SENT runs in the connecting task, the only transition where `current` is the
 * owner; but the kernel picks the local port just after it. So the owner and the time are kept
 * here, keyed by socket, and the event is sent at the socket's next transition (in softirq
 * context, tuple complete) with the time of the first: before the SYN, as it happened.
 */
struct connecting {
    struct np_kproc proc;
    __u64 boot_ns;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, __u64);
    __type(value, struct connecting);
} connecting SEC(".maps");

static __always_inline void read_tuple(struct np_kconnect *e, const struct sock *sk, __u16 family) {
    e->family = family;
    e->netns = netns_of_sock(sk);
    e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
    e->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
    __builtin_memset(e->saddr, 0, 16);
    __builtin_memset(e->daddr, 0, 16);
    if (family == AF_INET) {
        bpf_core_read(e->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
        bpf_core_read(e->daddr, 4, &sk->__sk_common.skc_daddr);
    } else {
        bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
        bpf_core_read(e->daddr, 16, &sk->__sk_common.skc_v6_daddr);
    }
}

/* Each established socket's tuple: by the time it closes, the kernel has released its port. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, __u64);
    __type(value, struct np_kconnect);
} established SEC(".maps");

/* The connect kept for socket `key` at CLOSE -> SYN_SENT, sent now that its tuple is complete. */
static __always_inline void send_connect(const struct sock *sk, __u64 key, __u16 family) {
    struct connecting *c = bpf_map_lookup_elem(&connecting, &key);
    if (!c) return;
    struct np_kconnect *e = reserve(sizeof(*e));
    if (e) {
        e->h.type = NP_K_CONNECT;
        e->h.boot_ns = c->boot_ns;
        e->proc = c->proc;
        e->sock = key;
        read_tuple(e, sk, family);
        bpf_ringbuf_submit(e, 0);
    }
    bpf_map_delete_elem(&connecting, &key);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_state, const struct sock *sk, int oldstate, int newstate) {
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family != AF_INET && family != AF_INET6) return 0;
    __u64 key = (__u64)sk;
    if (newstate == TCP_LISTEN) {
        /* listen() runs in the owning task: the port's owner, for inbound connections. */
        struct np_kconnect *e = reserve(sizeof(*e));
        if (!e) return 0;
        e->h.type = NP_K_LISTEN;
        e->h.boot_ns = bpf_ktime_get_boot_ns();
        proc_of((struct task_struct *)bpf_get_current_task_btf(), &e->proc);
        e->sock = key;
        read_tuple(e, sk, family);
        bpf_ringbuf_submit(e, 0);
        return 0;
    }
    if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
        struct connecting c = {.boot_ns = bpf_ktime_get_boot_ns()};
        proc_of((struct task_struct *)bpf_get_current_task_btf(), &c.proc);
        bpf_map_update_elem(&connecting, &key, &c, BPF_ANY);
        return 0;
    }
    if (newstate == TCP_ESTABLISHED) {
        struct np_kconnect tuple = {.sock = key};
        read_tuple(&tuple, sk, family);
        bpf_map_update_elem(&established, &key, &tuple, BPF_ANY);
    }
    if (newstate == TCP_CLOSE && oldstate != TCP_LISTEN && oldstate != TCP_SYN_SENT) {
        /* The end of a connection, with what it carried (softirq: no process to name). */
        struct np_kconnect *e = reserve(sizeof(*e));
        if (!e) return 0;
        struct np_kconnect *known = bpf_map_lookup_elem(&established, &key);
        if (known) {
            __builtin_memcpy(e, known, sizeof(*e));
            bpf_map_delete_elem(&established, &key);
        } else {
            read_tuple(e, sk, family);
        }
        e->h.type = NP_K_CLOSE;
        e->h.boot_ns = bpf_ktime_get_boot_ns();
        __builtin_memset(&e->proc, 0, sizeof(e->proc));
        e->sock = key;
        const struct tcp_sock *tp = (const struct tcp_sock *)sk;
        e->bytes_in = BPF_CORE_READ(tp, bytes_received);
        e->bytes_out = BPF_CORE_READ(tp, bytes_acked);
        bpf_ringbuf_submit(e, 0);
        return 0;
    }
    if (oldstate != TCP_SYN_SENT) return 0;
    send_connect(sk, key, family);
    return 0;
}

/*
 * A connection refused: the reset arrives in SYN_SENT, and by the CLOSE transition the kernel has
 * already released the local port (the state is stored after the socket is unhashed). Here the
 * port is still there: the connect is sent now, and its CLOSE finds nothing left to send.
 */
SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(on_reset, struct sock *sk) {
    send_connect(sk, (__u64)sk, BPF_CORE_READ(sk, __sk_common.skc_family));
    return 0;
}

/*
 * Inbound TCP: accept() and accept4() return a new descriptor in the accepting task; follow it
 * to its socket, whose tuple is complete. The syscall numbers are the architecture's own.
 */
#if defined(__TARGET_ARCH_x86)
#define NR_ACCEPT 43
#define NR_ACCEPT4 288
#define NR_SENDTO 44
#define NR_SENDMSG 46
#define NR_SENDMMSG 307
#define NR_CONNECT 42
#define NR_BIND 49
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, orig_ax)
#define SYSCALL_ARG0(regs) BPF_CORE_READ(regs, di)
#define SYSCALL_ARG1(regs) BPF_CORE_READ(regs, si)
#define SYSCALL_ARG4(regs) BPF_CORE_READ(regs, r8)
#elif defined(__TARGET_ARCH_arm64)
#define NR_ACCEPT 202
#define NR_ACCEPT4 242
#define NR_SENDTO 206
#define NR_SENDMSG 211
#define NR_SENDMMSG 269
#define NR_CONNECT 203
#define NR_BIND 200
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, syscallno)
#define SYSCALL_ARG0(regs) BPF_CORE_READ(regs, orig_x0)
#define SYSCALL_ARG1(regs) BPF_CORE_READ(regs, regs[1])
#define SYSCALL_ARG4(regs) BPF_CORE_READ(regs, regs[4])
#endif
#define IPPROTO_UDP 17

static __always_inline struct sock *sock_of_fd(struct task_struct *task, long fd) {
    struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
    struct file *file = NULL;
    if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd & 0xffff]) || !file) return NULL;
    struct socket *sock = BPF_CORE_READ(file, private_data);
    return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

/* UDP: one event per socket and destination (the first datagram), not per datagram.
 * A freed socket's address is soon reused by the next process's socket, so the key also
 * holds the owner and the local port: the pointer alone hid most short-lived senders. */
struct udp_key {
    __u64 sock;
    __u32 tgid;
    __u8 daddr[16];
    __u16 sport;
    __u16 dport;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct udp_key);
    __type(value, __u8);
} udp_seen SEC(".maps");

/* Set by the loader before loading: the cgroup sendmsg programs below report UDP sends, so the
 * sys_exit hook leaves sends to them and keeps only connect(). */
const volatile bool udp_sends_from_cgroup = false;

/* A UDP send by `task` on socket `sock` (pointer or cookie): reported for the first datagram of
 * each socket, owner, local port and destination only, not per datagram. */
static __always_inline void udp_send(struct task_struct *task, __u64 sock, const struct np_kconnect *tuple) {
    if (tuple->dport == 0) return;
    struct udp_key key = {.sock = sock, .tgid = BPF_CORE_READ(task, tgid), .sport = tuple->sport, .dport = tuple->dport};
    __builtin_memcpy(key.daddr, tuple->daddr, 16);
    __u8 one = 1;
    if (bpf_map_update_elem(&udp_seen, &key, &one, BPF_NOEXIST) != 0) return; /* seen already */
    struct np_kconnect *e = reserve(sizeof(*e));
    if (!e) return;
    __builtin_memcpy(e, tuple, sizeof(*e));
    e->h.type = NP_K_UDP_SEND;
    e->h.boot_ns = bpf_ktime_get_boot_ns();
    proc_of(task, &e->proc);
    e->sock = sock;
    bpf_ringbuf_submit(e, 0);
}

/*
 * cgroup/sendmsg4 and sendmsg6 on the cgroup v2 root: every unconnected UDP send by any process,
 * whichever call made it (sendto, sendmsg, sendmmsg, io_uring). The kernel has bound the local
 * port by the time these run (inet_sendmsg binds before udp_sendmsg calls them). They only
 * observe: 1 lets the send proceed unchanged.
 */
static __always_inline void udp_send_from_cgroup(struct bpf_sock_addr *ctx, __u16 family) {
    struct bpf_sock *sk = ctx->sk;
    if (!sk || ctx->protocol != IPPROTO_UDP) return;
    struct np_kconnect tuple = {.family = family, .sport = (__u16)sk->src_port, .dport = __builtin_bswap16((__u16)ctx->user_port)};
    if (family == AF_INET) {
        __u32 src = sk->src_ip4, dst = ctx->user_ip4;
        __builtin_memcpy(tuple.saddr, &src, 4);
        __builtin_memcpy(tuple.daddr, &dst, 4);
    } else {
        /* Each word at a constant offset: the verifier allows no arithmetic on these pointers. */
        __u32 src[4] = {sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3]};
        __u32 dst[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
        __builtin_memcpy(tuple.saddr, src, 16);
        __builtin_memcpy(tuple.daddr, dst, 16);
    }
    struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
    /* No struct sock here: the sender's namespace, which created the socket but for a setns() since. */
    tuple.netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
    udp_send(task, bpf_get_socket_cookie(ctx), &tuple);
}

SEC("cgroup/sendmsg4")
int on_udp_sendmsg4(struct bpf_sock_addr *ctx) {
    udp_send_from_cgroup(ctx, AF_INET);
    return 1;
}

SEC("cgroup/sendmsg6")
int on_udp_sendmsg6(struct bpf_sock_addr *ctx) {
    udp_send_from_cgroup(ctx, AF_INET6);
    return 1;
}

/* sendto/sendmsg/sendmmsg to an address, or connect, on a UDP socket: after the call the local port is bound. */
static __always_inline void udp_event(struct task_struct *task, struct pt_regs *regs, long nr) {
    struct sock *sk = sock_of_fd(task, (long)SYSCALL_ARG0(regs));
    if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP) return;
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family != AF_INET && family != AF_INET6) return;
    struct np_kconnect tuple = {};
    read_tuple(&tuple, sk, family);
    /* An unconnected socket's destination is the call's own address argument. */
    void *user_addr = NULL;
    if (nr == NR_SENDTO) user_addr = (void *)SYSCALL_ARG4(regs);
    else if (nr == NR_SENDMSG || nr == NR_SENDMMSG) {
        /* sendmmsg's vector starts with a user_msghdr too: its first message names the destination. */
        struct user_msghdr msg;
        if (bpf_probe_read_user(&msg, sizeof(msg), (void *)SYSCALL_ARG1(regs)) == 0) user_addr = msg.msg_name;
    }
    if (user_addr) {
        struct sockaddr_in6 addr = {};
        if (bpf_probe_read_user(&addr, sizeof(addr), user_addr) == 0) {
            if (addr.sin6_family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *)&addr;
                __builtin_memset(tuple.daddr, 0, 16);
                __builtin_memcpy(tuple.daddr, &in->sin_addr, 4);
                tuple.dport = __builtin_bswap16(in->sin_port);
            } else if (addr.sin6_family == AF_INET6) {
                __builtin_memcpy(tuple.daddr, &addr.sin6_addr, 16);
                tuple.dport = __builtin_bswap16(addr.sin6_port);
            }
        }
    }
    udp_send(task, (__u64)sk, &tuple);
}

/* bind() on a UDP socket: the process owns that local port (a UDP server's "listen"). */
static __always_inline void udp_bind_event(struct task_struct *task, struct pt_regs *regs) {
    struct sock *sk = sock_of_fd(task, (long)SYSCALL_ARG0(regs));
    if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP) return;
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family != AF_INET && family != AF_INET6) return;
    struct np_kconnect *e = reserve(sizeof(*e));
    if (!e) return;
    __builtin_memset(e, 0, sizeof(*e));
    read_tuple(e, sk, family);
    e->h.type = NP_K_UDP_BIND;
    e->h.boot_ns = bpf_ktime_get_boot_ns();
    proc_of(task, &e->proc);
    e->sock = (__u64)sk;
    bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret) {
    if (ret < 0) return 0;
    long nr = SYSCALL_NR(regs);
    struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
    if (nr == NR_CONNECT || (!udp_sends_from_cgroup && (nr == NR_SENDTO || nr == NR_SENDMSG || nr == NR_SENDMMSG))) {
        udp_event(task, regs, nr);
        return 0;
    }
    if (nr == NR_BIND) {
        udp_bind_event(task, regs);
        return 0;
    }
    if (nr != NR_ACCEPT && nr != NR_ACCEPT4) return 0;
    struct sock *sk = sock_of_fd(task, ret);
    if (!sk) return 0;
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family != AF_INET && family != AF_INET6) return 0;
    struct np_kconnect *e = reserve(sizeof(*e));
    if (!e) return 0;
    e->h.type = NP_K_ACCEPT;
    e->h.boot_ns = bpf_ktime_get_boot_ns();
    proc_of(task, &e->proc);
    e->sock = (__u64)sk;
    read_tuple(e, sk, family);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/* The processes alive at start-up, with the same keys the tracepoints give them. */
SEC("iter/task")
int snapshot(struct bpf_iter__task *ctx) {
    struct task_struct *t = ctx->task;
    if (!t || BPF_CORE_READ(t, pid) != BPF_CORE_READ(t, tgid)) return 0;
    struct np_ksnapshot rec = {};
    proc_of(t, &rec.proc);
    proc_of(BPF_CORE_READ(t, real_parent), &rec.parent);
    rec.uid = BPF_CORE_READ(t, cred, uid.val);
    rec.cgroup = cgroup_of(t);
    bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
    return 0;
}
