/* Events the kernel side (sensor.bpf.c) hands the loader (sensor.c) through the ring buffer. */
#ifndef NETPROV_SENSOR_H
#define NETPROV_SENSOR_H

#define NP_PATH_LEN 256
#define NP_ARGS_LEN 512

enum np_kernel_event { NP_K_EXEC = 1, NP_K_FORK, NP_K_EXIT, NP_K_CONNECT, NP_K_LISTEN, NP_K_CLOSE, NP_K_ACCEPT, NP_K_UDP_SEND, NP_K_UDP_BIND };

/* A process instance: tgid and its leader's start time (ns since boot). */
struct np_kproc {
    __u32 pid;
    __u64 start;
};

struct np_kheader {
    __u32 type;
    __u32 pad;
    __u64 boot_ns; /* bpf_ktime_get_boot_ns() when it happened */
};

struct np_kexec {
    struct np_kheader h;
    struct np_kproc proc;
    struct np_kproc parent;
    __u32 uid;
    __u32 args_len; /* bytes of args used: NUL-separated */
    __u64 cgroup;   /* cgroup v2 id (the cgroup directory's inode number) */
    char path[NP_PATH_LEN];
    char args[NP_ARGS_LEN];
};

struct np_kfork {
    struct np_kheader h;
    struct np_kproc parent;
    struct np_kproc child;
    __u64 cgroup; /* the child's: inherited, or CLONE_INTO_CGROUP's */
};

struct np_kexit {
    struct np_kheader h;
    struct np_kproc proc;
    __u32 code;
};

/* NP_K_CONNECT, NP_K_ACCEPT and NP_K_UDP_SEND (complete 5-tuple), NP_K_LISTEN and NP_K_UDP_BIND (local address and port only), NP_K_CLOSE (no process: softirq). */
struct np_kconnect {
    struct np_kheader h;
    struct np_kproc proc;
    __u64 sock; /* the socket's address: a flow id for this boot */
    __u16 family;
    __u16 sport; /* host order */
    __u16 dport;
    __u8 saddr[16];
    __u8 daddr[16];
    __u64 bytes_in;  /* NP_K_CLOSE: tcp_sock bytes_received */
    __u64 bytes_out; /* NP_K_CLOSE: tcp_sock bytes_acked */
    __u32 netns;     /* inode of the socket's network namespace: a tuple means something only inside one */
    __u32 pad;
};

/* One live process, from the task iterator at start-up (the snapshot). */
struct np_ksnapshot {
    struct np_kproc proc;
    struct np_kproc parent;
    __u32 uid;
    __u32 pad;
    __u64 cgroup;
};

#endif
