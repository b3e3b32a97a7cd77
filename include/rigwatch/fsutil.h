/* fsutil: read a small file whole, the way every cgroup and /proc reader in the agent needs it. */
#ifndef RIGWATCH_FSUTIL_H
#define RIGWATCH_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read `path` (relative to the open directory dirfd, or AT_FDCWD) into buf until EOF or len - 1 bytes, and
 * NUL-terminate it. Returns the bytes read or a negative errno (-ENOENT: it vanished, normal life). */
ssize_t rw_read_small(int dirfd, const char *path, char *buf, size_t len);

/* The same with a single read(2): for cgroup (kernfs) files, whose first read returns the whole value (a show
 * callback fills one buffer), so the second read that would only find EOF is saved: one system call per file,
 * per target and interval. */
ssize_t rw_read_kernfs(int dirfd, const char *path, char *buf, size_t len);

/* Read a file given by a person (config, web config, TLS certificate and key) whole: opened non-blocking, so a FIFO
 * or device cannot hang the open; anything but a regular file, a file over `max` bytes (also one that grows past
 * it while read) or one holding a NUL byte is refused, with err naming the file. On success *out is a
 * NUL-terminated copy the caller frees and *len its length. Returns 0 or a negative errno. */
int rw_read_regular_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);

/* The boot time in seconds since the epoch (<proc_root>/stat "btime"), to turn a process's start time in clock
 * ticks since boot into a wall-clock time; 0 when it cannot be read. */
uint64_t rw_boot_time_s(const char *proc_root);

#endif
