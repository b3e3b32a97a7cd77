/* fuzz_mountinfo: the /proc/self/mountinfo parser (rw_cgroup_mounts_parse), which decides where the agent reads
 * and writes cgroup files. Properties: a malformed line is an error that says which; every mount path found is
 * NUL-terminated; unless -ENOENT, a cgroup2 mount (layout v2 or hybrid) or v1 controllers only (layout v1) were
 * found. (Mount points are not required to be absolute: only
 * the kernel writes this file, and the parser does not check what the kernel guarantees.) */
#include <errno.h>

#include "fuzz.h"
#include "rigwatch/cgroups.h"
#include "rigwatch/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	rw_log_set_level(RW_LOG_ERROR);
	return 0;
}

static void check_path(const char *p, size_t cap)
{
	FUZZ_CHECK(memchr(p, '\0', cap) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rw_cgroup_mounts m;
	char err[256] = "";
	char *text = fuzz_cstr(data, size);

	int rc = rw_cgroup_mounts_parse(text, &m, err, sizeof err);
	FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL);
	if (rc == -EINVAL)
		FUZZ_CHECK(err[0] != '\0');
	if (rc == 0) {
		/* cgroup2 found (v2 or hybrid), or none and a v1 controller (v1 only) */
		bool any_v1 = m.v1_cpu[0] || m.v1_cpuacct[0] || m.v1_memory[0] || m.v1_pids[0] || m.v1_perf_event[0] ||
			      m.v1_freezer[0] || m.v1_systemd[0];
		FUZZ_CHECK(m.v2[0] != '\0' ? m.layout != RW_CGROUP_V1 && m.hybrid == any_v1
					    : m.layout == RW_CGROUP_V1 && any_v1 && !m.hybrid);
		check_path(m.v2, sizeof m.v2);
		check_path(m.v1_systemd, sizeof m.v1_systemd);
		FUZZ_CHECK(FUZZ_TERMINATED(m.v2_controllers));
		check_path(m.v1_cpu, sizeof m.v1_cpu);
		check_path(m.v1_cpuacct, sizeof m.v1_cpuacct);
		check_path(m.v1_memory, sizeof m.v1_memory);
		check_path(m.v1_pids, sizeof m.v1_pids);
		check_path(m.v1_perf_event, sizeof m.v1_perf_event);
		check_path(m.v1_freezer, sizeof m.v1_freezer);
	}
	free(text);
	return 0;
}
