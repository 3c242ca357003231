/* cgroup v2 ids to paths (cgroups.h): an open-addressing table filled by walking the tree. */
#define _GNU_SOURCE
#include "cgroups.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TABLE_SIZE (1u << 16) /* a power of two; a host with more cgroups gets paths for the first ones found */
#define MAX_DEPTH 32

struct entry {
    uint64_t id;  /* 0: empty slot */
    char *path;   /* NULL: looked for and not found (ids are never reused, so that stays true) */
};

struct np_cgroups {
    int root_fd;
    size_t used;
    struct entry table[TABLE_SIZE];
};

static struct entry *slot(struct np_cgroups *c, uint64_t id) {
    for (uint32_t i = (uint32_t)(id * 0x9E3779B97F4A7C15ull >> 48) & (TABLE_SIZE - 1);; i = (i + 1) & (TABLE_SIZE - 1))
        if (c->table[i].id == id || c->table[i].id == 0) return &c->table[i];
}

static void remember(struct np_cgroups *c, uint64_t id, const char *path) {
    if (id == 0) return;
    struct entry *e = slot(c, id);
    if (e->id == id && e->path) return;
    if (e->id == 0) {
        if (c->used + 1 >= TABLE_SIZE * 3 / 4) return;
        c->used++;
        e->id = id;
    }
    e->path = path ? strdup(path) : NULL;
}

/* Every directory below `dir_fd` (whose path is `path`), depth-first. */
static void walk(struct np_cgroups *c, int dir_fd, char *path, size_t len, int depth) {
    DIR *dir = fdopendir(dir_fd);
    if (!dir) {
        close(dir_fd);
        return;
    }
    for (struct dirent *d; (d = readdir(dir));) {
        if (d->d_type != DT_DIR || !strcmp(d->d_name, ".") || !strcmp(d->d_name, "..")) continue;
        size_t name_len = strlen(d->d_name);
        if (len + 1 + name_len >= 4096 || depth >= MAX_DEPTH) continue;
        int child = openat(dirfd(dir), d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (child < 0) continue;
        if (fstat(child, &st) != 0) {
            close(child);
            continue;
        }
        path[len] = '/';
        memcpy(path + len + 1, d->d_name, name_len + 1);
        remember(c, st.st_ino, path);
        walk(c, child, path, len + 1 + name_len, depth + 1);
        path[len] = 0;
    }
    closedir(dir);
}

static void rescan(struct np_cgroups *c) {
    struct stat st;
    if (fstat(c->root_fd, &st) == 0) remember(c, st.st_ino, "/");
    int fd = openat(c->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    char path[4096] = "";
    walk(c, fd, path, 0, 0);
}

struct np_cgroups *np_cgroups_open(int root_fd) {
    struct np_cgroups *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->root_fd = root_fd;
    rescan(c);
    return c;
}

const char *np_cgroups_path(struct np_cgroups *c, uint64_t id) {
    if (!c || id == 0) return NULL;
    struct entry *e = slot(c, id);
    if (e->id == id) return e->path;
    /* Full: a walk could remember nothing more, and one walk per event would stall the sensor. */
    if (c->used + 1 >= TABLE_SIZE * 3 / 4) return NULL;
    rescan(c);
    e = slot(c, id);
    if (e->id != id) {
        remember(c, id, NULL);
        return NULL;
    }
    return e->path;
}

void np_cgroups_close(struct np_cgroups *c) {
    if (!c) return;
    for (size_t i = 0; i < TABLE_SIZE; i++) free(c->table[i].path);
    if (c->root_fd >= 0) close(c->root_fd);
    free(c);
}
