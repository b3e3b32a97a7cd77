/* fsutil: read a small file whole, the way every cgroup and /proc reader in the agent needs it. */
#ifndef RIGWATCH_FSUTIL_H
#define RIGWATCH_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Read `path` (relative to the open directory dirfd, or AT_FDCWD) into buf until EOF or len - 1 bytes, and
 * NUL-terminate it. Returns the bytes read or a negative errno (-ENOENT: it vanished, normal life). */
ssize_t rw_read_small(int dirfd, const char *path, char *buf, size_t len);

/* The same with a single read(2): for cgroup (kernfs) files, whose first read returns the whole value (a show
 * callback fills one buffer), so the second read that would only find EOF is saved: one system call per file,
 * per target and interval. */
ssize_t rw_read_kernfs(int dirfd, const char *path, char *buf, size_t len);

#endif
