#include "np_endpoint.h"
#include "np_lock.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

np_audit_token np_audit_token_decode(const uint8_t raw[32]) {
    uint32_t w[8];
    memcpy(w, raw, sizeof w);
    return (np_audit_token){.auid = w[0], .euid = w[1], .egid = w[2], .ruid = w[3], .rgid = w[4], .pid = w[5], .asid = w[6], .pidversion = w[7]};
}

int np_process_key(const np_audit_token *token, char *out, size_t cap) {
    int n = snprintf(out, cap, "%u.%u", token->pid, token->pidversion);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

np_process_info np_process_info_make(const char *key, uint32_t pid, const char *path, const char *signing_id) {
    np_process_info p = {.pid = pid};
    snprintf(p.key, sizeof p.key, "%s", key ? key : "");
    snprintf(p.path, sizeof p.path, "%s", path ? path : "");
    snprintf(p.signing_id, sizeof p.signing_id, "%s", signing_id ? signing_id : "");
    return p;
}

np_tuple np_tuple_make(uint8_t protocol, const char *local_addr, uint16_t local_port, const char *remote_addr, uint16_t remote_port) {
    np_tuple t = {.protocol = protocol, .local_port = local_port, .remote_port = remote_port};
    snprintf(t.local_addr, sizeof t.local_addr, "%s", local_addr ? local_addr : "");
    snprintf(t.remote_addr, sizeof t.remote_addr, "%s", remote_addr ? remote_addr : "");
    return t;
}

uint64_t np_sequence_observe(np_sequence *s, uint64_t seq) {
    uint64_t gap = 0;
    if (!s->started) {
        s->started = 1;
    } else if (seq <= s->last) {
        s->reordered++;
        return 0;
    } else {
        gap = seq - s->last - 1;
    }
    s->lost += gap;
    s->last = seq;
    return gap;
}

/*
 * Two fixed-capacity arrays searched linearly under one lock (np_lock.h): a system extension tracks
 * hundreds to a few thousand live processes and flows, where a scan is cheap and a hash table's
 * deletion rules are not worth their bugs. Measure before changing it.
 */
struct process_slot {
    int used;
    uint64_t order; /* insertion order: the latest instance of a pid wins */
    np_process_info info;
};

struct flow_slot {
    int used;
    char flow_id[NP_KEY_MAX * 2];
    char process_key[NP_KEY_MAX];
    np_tuple tuple;
};

struct np_table {
    np_lock lock;
    uint64_t inserted;
    size_t process_capacity, flow_capacity;
    struct process_slot *processes;
    struct flow_slot *flows;
};

np_table *np_table_new(size_t process_capacity, size_t flow_capacity) {
    np_table *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->processes = calloc(process_capacity, sizeof *t->processes);
    t->flows = calloc(flow_capacity, sizeof *t->flows);
    if (!t->processes || !t->flows) {
        np_table_free(t);
        return NULL;
    }
    t->process_capacity = process_capacity;
    t->flow_capacity = flow_capacity;
    np_lock_init(&t->lock);
    return t;
}

void np_table_free(np_table *t) {
    if (!t) return;
    np_lock_destroy(&t->lock);
    free(t->processes);
    free(t->flows);
    free(t);
}

static void copy(char *dst, const char *src, size_t cap) {
    snprintf(dst, cap, "%s", src ? src : "");
}

int np_table_put_process(np_table *t, const np_process_info *p) {
    np_lock_acquire(&t->lock);
    struct process_slot *free_slot = NULL, *same = NULL;
    for (size_t i = 0; i < t->process_capacity; i++) {
        struct process_slot *s = &t->processes[i];
        if (s->used && strcmp(s->info.key, p->key) == 0) same = s;
        else if (!s->used && !free_slot) free_slot = s;
    }
    struct process_slot *slot = same ? same : free_slot;
    if (slot) {
        slot->used = 1;
        slot->order = ++t->inserted;
        slot->info = *p;
        slot->info.key[NP_KEY_MAX - 1] = slot->info.path[NP_PATH_MAX - 1] = slot->info.signing_id[NP_PATH_MAX - 1] = 0;
    }
    np_lock_release(&t->lock);
    return slot ? 0 : -1;
}

void np_table_remove_process(np_table *t, const char *key) {
    np_lock_acquire(&t->lock);
    for (size_t i = 0; i < t->process_capacity; i++)
        if (t->processes[i].used && strcmp(t->processes[i].info.key, key) == 0) t->processes[i].used = 0;
    np_lock_release(&t->lock);
}

int np_table_process_by_pid(np_table *t, uint32_t pid, np_process_info *out) {
    np_lock_acquire(&t->lock);
    const struct process_slot *best = NULL;
    for (size_t i = 0; i < t->process_capacity; i++) {
        const struct process_slot *s = &t->processes[i];
        if (s->used && s->info.pid == pid && (!best || s->order > best->order)) best = s;
    }
    if (best) *out = best->info;
    np_lock_release(&t->lock);
    return best ? 0 : -1;
}

int np_table_put_flow(np_table *t, const char *flow_id, const char *process_key, const np_tuple *tuple) {
    np_lock_acquire(&t->lock);
    struct flow_slot *slot = NULL;
    for (size_t i = 0; i < t->flow_capacity && !slot; i++)
        if (t->flows[i].used && strcmp(t->flows[i].flow_id, flow_id) == 0) slot = &t->flows[i];
    for (size_t i = 0; i < t->flow_capacity && !slot; i++)
        if (!t->flows[i].used) slot = &t->flows[i];
    if (slot) {
        slot->used = 1;
        copy(slot->flow_id, flow_id, sizeof slot->flow_id);
        copy(slot->process_key, process_key, sizeof slot->process_key);
        slot->tuple = *tuple;
    }
    np_lock_release(&t->lock);
    return slot ? 0 : -1;
}

void np_table_remove_flow(np_table *t, const char *flow_id) {
    np_lock_acquire(&t->lock);
    for (size_t i = 0; i < t->flow_capacity; i++)
        if (t->flows[i].used && strcmp(t->flows[i].flow_id, flow_id) == 0) t->flows[i].used = 0;
    np_lock_release(&t->lock);
}

static int same_end(const char *addr_a, uint16_t port_a, const char *addr_b, uint16_t port_b) {
    return port_a == port_b && strcmp(addr_a, addr_b) == 0;
}

int np_table_flow_process(np_table *t, const np_tuple *p, char process_key[NP_KEY_MAX]) {
    np_lock_acquire(&t->lock);
    int found = -1;
    for (size_t i = 0; i < t->flow_capacity && found < 0; i++) {
        const struct flow_slot *s = &t->flows[i];
        if (!s->used || s->tuple.protocol != p->protocol) continue;
        const np_tuple *f = &s->tuple;
        int outbound = same_end(f->local_addr, f->local_port, p->local_addr, p->local_port) &&
                       same_end(f->remote_addr, f->remote_port, p->remote_addr, p->remote_port);
        int inbound = same_end(f->local_addr, f->local_port, p->remote_addr, p->remote_port) &&
                      same_end(f->remote_addr, f->remote_port, p->local_addr, p->local_port);
        if (outbound || inbound) {
            copy(process_key, s->process_key, NP_KEY_MAX);
            found = 0;
        }
    }
    np_lock_release(&t->lock);
    return found;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The offset of the IP header after the link layer, and the EtherType-like family found there. */
static int link_payload(const uint8_t *b, size_t len, int link_type, size_t *at, int *version) {
    if (link_type == 101) {
        *at = 0;
    } else if (link_type == 0) {
        if (len < 4) return -1;
        *at = 4; /* the address family, in the capturing host's byte order: read the IP version instead */
    } else if (link_type == 1) {
        size_t off = 12;
        if (len < off + 2) return -1;
        uint16_t type = be16(b + off);
        while (type == 0x8100 || type == 0x88a8) { /* VLAN tags */
            off += 4;
            if (len < off + 2) return -1;
            type = be16(b + off);
        }
        if (type != 0x0800 && type != 0x86dd) return -1;
        *at = off + 2;
    } else {
        return -1;
    }
    if (len <= *at) return -1;
    *version = b[*at] >> 4;
    return *version == 4 || *version == 6 ? 0 : -1;
}

int np_packet_tuple(const uint8_t *b, size_t len, int link_type, np_tuple *out) {
    size_t at;
    int version;
    if (link_payload(b, len, link_type, &at, &version) != 0) return -1;
    memset(out, 0, sizeof *out);
    size_t l4;
    int first_fragment = 1;
    uint8_t protocol;
    if (version == 4) {
        if (len < at + 20) return -1;
        size_t ihl = (size_t)(b[at] & 0x0f) * 4;
        if (ihl < 20 || len < at + ihl) return -1;
        protocol = b[at + 9];
        first_fragment = (be16(b + at + 6) & 0x1fff) == 0;
        inet_ntop(AF_INET, b + at + 12, out->local_addr, sizeof out->local_addr);
        inet_ntop(AF_INET, b + at + 16, out->remote_addr, sizeof out->remote_addr);
        l4 = at + ihl;
    } else {
        if (len < at + 40) return -1;
        protocol = b[at + 6];
        inet_ntop(AF_INET6, b + at + 8, out->local_addr, sizeof out->local_addr);
        inet_ntop(AF_INET6, b + at + 24, out->remote_addr, sizeof out->remote_addr);
        l4 = at + 40;
        /* Hop-by-hop, routing, destination options: skip to the transport header; a fragment header ends the walk. */
        while (protocol == 0 || protocol == 43 || protocol == 60 || protocol == 44) {
            if (len < l4 + 8) return -1;
            if (protocol == 44) {
                first_fragment = (be16(b + l4 + 2) & 0xfff8) == 0;
                protocol = b[l4];
                l4 += 8;
                break;
            }
            size_t ext = ((size_t)b[l4 + 1] + 1) * 8;
            protocol = b[l4];
            l4 += ext;
        }
    }
    out->protocol = protocol;
    if ((protocol == 6 || protocol == 17) && first_fragment) {
        if (len < l4 + 4) return -1;
        out->local_port = be16(b + l4);
        out->remote_port = be16(b + l4 + 2);
    }
    return 0;
}
