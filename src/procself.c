/* procself: /proc/self/stat, /proc/stat's btime and RLIMIT_NOFILE for the process_* metrics. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "rigwatch/fsutil.h"
#include "rigwatch/procself.h"

int rw_procself_parse_stat(const char *stat_line, uint64_t btime_s, long ticks_per_s, long page_size,
			   struct rw_procself *out)
{
	/* pid (comm) state ppid ...: comm may hold blanks and ')', so fields are counted after the last ')' */
	const char *p = strrchr(stat_line, ')');
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
	if (!p || ticks_per_s <= 0 || page_size <= 0)
		return -EINVAL;
	p++;
	/* after ')': field 3 state ... field 14 utime, 15 stime, 22 starttime, 23 vsize, 24 rss */
	unsigned field = 2;
	while (*p && field < 24) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		field++;
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (field == 14)
			utime = v;
		else if (field == 15)
			stime = v;
		else if (field == 22)
			start = v;
		else if (field == 23)
			vsize = v;
		else if (field == 24)
			rss = v;
		while (*p && *p != ' ')
			p++;
	}
	if (field < 24)
		return -EINVAL;
	out->cpu_usec = (uint64_t)((utime + stime) * 1000000ull / (unsigned long long)ticks_per_s);
	out->vm_bytes = vsize;
	out->rss_bytes = rss * (unsigned long long)page_size;
	out->start_time_ns = btime_s * 1000000000ull + start * 1000000000ull / (unsigned long long)ticks_per_s;
	return 0;
}

int rw_procself_read(const char *proc_root, struct rw_procself *out)
{
	char path[PATH_MAX], stat_line[1024], host[4096];
	struct rw_procself tmp;
	struct rlimit rl;
	uint64_t btime = 0;
	int r;

	if (!proc_root)
		proc_root = "/proc";
	snprintf(path, sizeof path, "%s/self/stat", proc_root);
	ssize_t n = rw_read_small(AT_FDCWD, path, stat_line, sizeof stat_line);
	if (n < 0)
		return (int)n;
	if (!out->start_time_ns) {
		/* btime comes after a line per CPU and a long "intr" line, which fgets reads in pieces */
		snprintf(path, sizeof path, "%s/stat", proc_root);
		FILE *f = fopen(path, "re");
		if (!f)
			return -errno;
		while (fgets(host, sizeof host, f))
			if (!strncmp(host, "btime ", 6)) {
				btime = strtoull(host + 6, NULL, 10);
				break;
			}
		fclose(f);
		if (!btime)
			return -ENODATA;
	}
	if ((r = rw_procself_parse_stat(stat_line, btime, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), &tmp)) < 0)
		return r;
	if (out->start_time_ns)
		tmp.start_time_ns = out->start_time_ns;   /* the start does not move: /proc/stat is read once */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		tmp.max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
	else
		tmp.max_fds = 0;
	*out = tmp;
	return 0;
}
