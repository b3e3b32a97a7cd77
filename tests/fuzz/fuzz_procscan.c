/* fuzz_procscan: the /proc files the indicator scan reads (rw_procscan_target): cgroup.procs, a process's stat,
 * comm, status, cmdline, net/tcp and net/tcp6, its parent's stat and /proc/stat. A miner controls all of these
 * (its name, command line, its parent chain) but for the kernel's formatting, so the parsers must take anything.
 *
 * The input is split at each "@@\n" into those files, in that order, and written over a copy of the miner fixture
 * (tests/data/procscan/miner) in a private directory under /dev/shm; the fixture's symlinks (exe, fd/, ns/net)
 * stay. Properties: the scan returns 0; counts fit what the tree holds; every string is NUL-terminated. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"
#include "rigwatch/log.h"
#include "rigwatch/procscan.h"

static const char *const files[] = {
	"cg/cgroup.procs", "proc/100/stat", "proc/100/comm", "proc/100/status", "proc/100/cmdline",
	"proc/100/net/tcp", "proc/100/net/tcp6", "proc/50/stat", "proc/stat",
};
#define N_FILES (sizeof files / sizeof files[0])

static char root[128], proc_root[160], cg_dir[160];
static struct rw_procscan_rules *rules;

static void cleanup(void)
{
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (root[0] && system(cmd) != 0)
		fprintf(stderr, "fuzz_procscan: could not remove %s\n", root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char cmd[512], err[256];
	(void)argc, (void)argv;
	rw_log_set_level(RW_LOG_ERROR);
	snprintf(root, sizeof root, "%s/rw-fuzz-procscan.%d", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
		 (int)getpid());
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a tests/data/procscan/miner '%s'", root, root);
	if (system(cmd) != 0) {
		fprintf(stderr, "fuzz_procscan: run from the repository root (needs tests/data/procscan/miner)\n");
		exit(1);
	}
	atexit(cleanup);
	snprintf(proc_root, sizeof proc_root, "%s/proc", root);
	snprintf(cg_dir, sizeof cg_dir, "%s/cg", root);
	if (rw_procscan_rules_load(&rules, "models/indicators.rules", err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_procscan: %s\n", err);
		exit(1);
	}
	return 0;
}

static void put(const char *rel, const uint8_t *p, size_t n)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, p, n) == (ssize_t)n);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_indicator_evidence ev;
	const uint8_t *p = data, *end = data + size;

	for (unsigned i = 0; i < N_FILES; i++) {
		const uint8_t *cut = NULL;
		for (const uint8_t *q = p; q + 3 <= end; q++)
			if (q[0] == '@' && q[1] == '@' && q[2] == '\n') {
				cut = q;
				break;
			}
		size_t n = (size_t)((cut ? cut : end) - p);
		put(files[i], p, n);
		p = cut ? cut + 3 : end;
	}

	int rc = rw_procscan_target(rules, proc_root, cg_dir, &ev);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(ev.n_origin <= RW_ORIGIN_MAX);
	FUZZ_CHECK(FUZZ_TERMINATED(ev.evidence));
	for (unsigned i = 0; i < ev.n_origin; i++)
		FUZZ_CHECK(FUZZ_TERMINATED(ev.origin[i].comm) && FUZZ_TERMINATED(ev.origin[i].exe));
	return 0;
}
