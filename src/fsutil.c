/* fsutil: small-file reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
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
