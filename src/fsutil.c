/* fsutil: small-file reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rigwatch/fsutil.h"

static ssize_t read_file(int dirfd, const char *path, char *buf, size_t len, bool once)
{
	size_t got = 0;
	int fd;

	if (len == 0)
		return -EINVAL;
	if ((fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	/* Several reads: a /proc file may come in pieces. */
	while (got < len - 1) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (once)
			break;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

ssize_t rw_read_small(int dirfd, const char *path, char *buf, size_t len)
{
	return read_file(dirfd, path, buf, len, false);
}

ssize_t rw_read_kernfs(int dirfd, const char *path, char *buf, size_t len)
{
	return read_file(dirfd, path, buf, len, true);
}

int rw_read_regular_file(const char *path, size_t max, char **out, size_t *len_out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int r = 0;

	*out = NULL;
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		r = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		r = -EFBIG;
		goto out;
	}
	/* Sized from fstat, grown if the file grew since, up to one byte past the bound (to notice that). */
	size_t cap = (size_t)st.st_size + 64;
	if (!(buf = malloc(cap + 1))) {
		r = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		if (len == cap) {
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *n = ncap > cap ? realloc(buf, ncap + 1) : NULL;
			if (!n) {
				r = -ENOMEM;
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			buf = n;
			cap = ncap;
		}
		ssize_t got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > max) {
			snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
			r = -EFBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		r = -EINVAL;
		goto out;
	}
	*out = buf;
	*len_out = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

uint64_t rw_boot_time_s(const char *proc_root)
{
	char path[4096 + 16], buf[8192];
	snprintf(path, sizeof path, "%s/stat", proc_root && *proc_root ? proc_root : "/proc");
	if (rw_read_small(AT_FDCWD, path, buf, sizeof buf) <= 0)
		return 0;
	char *b = strstr(buf, "\nbtime ");
	return b ? strtoull(b + 7, NULL, 10) : 0;
}
