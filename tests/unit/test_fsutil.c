/* fsutil suite: small-file reads by path and relative to a directory fd, truncation, vanished files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rigwatch/fsutil.h"
#include "rw_test.h"

static char dir[] = "/tmp/rwfsutil.XXXXXX";

static void test_read_by_path_and_dirfd(void)
{
	char path[128], buf[64];
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/f", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("usage_usec 12\nuser_usec 7\n", f);
	fclose(f);

	CU_ASSERT_EQUAL(rw_read_small(AT_FDCWD, path, buf, sizeof buf), 26);
	CU_ASSERT_STRING_EQUAL(buf, "usage_usec 12\nuser_usec 7\n");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(dfd >= 0);
	memset(buf, 'x', sizeof buf);
	CU_ASSERT_EQUAL(rw_read_small(dfd, "f", buf, sizeof buf), 26);
	CU_ASSERT_STRING_EQUAL(buf, "usage_usec 12\nuser_usec 7\n");
	/* truncated to len - 1 and always terminated */
	CU_ASSERT_EQUAL(rw_read_small(dfd, "f", buf, 6), 5);
	CU_ASSERT_STRING_EQUAL(buf, "usage");
	CU_ASSERT_EQUAL(rw_read_small(dfd, "f", buf, 0), -EINVAL);
	/* vanished */
	CU_ASSERT_EQUAL(rw_read_small(dfd, "gone", buf, sizeof buf), -ENOENT);
	unlink(path);
	CU_ASSERT_EQUAL(rw_read_small(AT_FDCWD, path, buf, sizeof buf), -ENOENT);
	/* a directory is not a small file */
	CU_ASSERT_EQUAL(rw_read_small(AT_FDCWD, dir, buf, sizeof buf), -EISDIR);
	close(dfd);
	rmdir(dir);
}

static void test_proc_file(void)
{
	char buf[4096];
	/* /proc files come through read(2) in pieces of their own choosing: a whole one must arrive */
	ssize_t n = rw_read_small(AT_FDCWD, "/proc/self/status", buf, sizeof buf);
	CU_ASSERT(n > 100);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "Pid:"));
}

static const rw_test tests[] = {
	RW_TEST(test_read_by_path_and_dirfd),
	RW_TEST(test_proc_file),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("fsutil", tests); }
