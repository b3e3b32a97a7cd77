/* fsutil: read a small file whole, the way every cgroup and /proc reader in the agent needs it. */
#ifndef RIGWATCH_FSUTIL_H
#define RIGWATCH_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Read `path` (relative to the open directory dirfd, or AT_FDCWD) into buf until EOF or len - 1 bytes, and
 * NUL-terminate it. Returns the bytes read or a negative errno (-ENOENT: it vanished, normal life). */
ssize_t rw_read_small(int dirfd, const char *path, char *buf, size_t len);

#endif
