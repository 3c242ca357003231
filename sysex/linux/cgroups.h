/*
 * cgroup v2 ids to paths. The kernel side can only read a process's cgroup id; its path
 * (`/system.slice/docker-<id>.scope`, `/kubepods.slice/...`) is what names a container. On the
 * cgroup2 file system a cgroup's id is its directory's inode number, so the paths come from
 * walking the tree, again whenever an id is not known yet.
 */
#ifndef NP_CGROUPS_H
#define NP_CGROUPS_H

#include <stdint.h>

struct np_cgroups;

/* Takes a descriptor of the cgroup v2 root (it is closed with the table); NULL if out of memory. */
struct np_cgroups *np_cgroups_open(int root_fd);

/* The path of cgroup `id` below the root ("/" for the root itself), or NULL when no directory
 * has that id (a cgroup removed before it could be read). Valid until np_cgroups_close. */
const char *np_cgroups_path(struct np_cgroups *cgroups, uint64_t id);

void np_cgroups_close(struct np_cgroups *cgroups);

#endif
