/* cgroups: where the cgroup hierarchies are mounted (pure cgroup2, hybrid, or legacy v1 only), and a cheap walk
 * of one tree that finds workload cgroups (targets): the cgroup2 tree, or on v1-only hosts the v1 hierarchy that
 * best marks workloads. */
#ifndef RIGWATCH_CGROUPS_H
#define RIGWATCH_CGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rigwatch/identity.h"

#define RW_MOUNT_PATH_MAX 256

/* How the host mounts cgroups. */
enum rw_cgroup_layout {
	RW_CGROUP_V2 = 0,   /* cgroup2 only (unified) */
	RW_CGROUP_HYBRID,   /* cgroup2 and v1 controllers */
	RW_CGROUP_V1,       /* v1 controllers only (legacy: RHEL/CentOS 7-8, Slurm cgroup/v1) */
};

struct rw_cgroup_mounts {
	char v2[RW_MOUNT_PATH_MAX];           /* cgroup2 mount point; "" if none */
	char v2_controllers[256];             /* cgroup.controllers at the v2 root, if read */
	/* v1 controller mounts on hybrid or legacy hosts; "" where the controller is not on v1 */
	char v1_cpu[RW_MOUNT_PATH_MAX];
	char v1_cpuacct[RW_MOUNT_PATH_MAX];
	char v1_memory[RW_MOUNT_PATH_MAX];
	char v1_pids[RW_MOUNT_PATH_MAX];
	char v1_perf_event[RW_MOUNT_PATH_MAX];/* perf_event on v1: perf must use this tree, not v2 */
	char v1_freezer[RW_MOUNT_PATH_MAX];
	char v1_systemd[RW_MOUNT_PATH_MAX];   /* the name=systemd hierarchy (no controller; systemd's own tree) */
	bool hybrid;                          /* cgroup2 and at least one v1 controller */
	enum rw_cgroup_layout layout;
	/* v1 only: the hierarchy walked for targets (one of the v1_* mounts above) and its name ("freezer",
	 * "cpuacct", "name=systemd", ...); set by rw_cgroup_mounts_detect or rw_cgroup_v1_pick. */
	char v1_walk[RW_MOUNT_PATH_MAX];
	char v1_walk_name[32];
};

/* Parse the text of /proc/self/mountinfo. Returns 0, or -ENOENT when there is no cgroup mount at all (neither
 * cgroup2 nor a v1 controller), or -EINVAL for a malformed line (err names the line). Sets layout. */
int rw_cgroup_mounts_parse(const char *mountinfo, struct rw_cgroup_mounts *out, char *err, size_t errlen);
/* Read and parse a mountinfo file (normally /proc/self/mountinfo); on a v1-only host also pick the hierarchy to
 * walk (rw_cgroup_v1_pick). */
int rw_cgroup_mounts_detect(const char *mountinfo_path, struct rw_cgroup_mounts *out, char *err, size_t errlen);

/* On a v1-only layout, choose the hierarchy that best marks workloads and set v1_walk/v1_walk_name: the freezer
 * when it holds a Slurm tree at its top ("slurm" or "slurm_<node>": Slurm's proctrack/cgroup puts every step
 * there, and other controllers only with some plugins), else cpuacct or cpu when they have child cgroups
 * (accounting is on: containers and accounted services have their CPU there), else name=systemd (every service
 * and scope), else the first of cpuacct, cpu, freezer, memory, pids that is mounted. Returns 0, or -ENOENT when
 * no v1 hierarchy is mounted. */
int rw_cgroup_v1_pick(struct rw_cgroup_mounts *m);

/* "v2", "hybrid" or "v1". */
const char *rw_cgroup_layout_name(enum rw_cgroup_layout l);

/* One workload cgroup found by the walk. */
struct rw_cgroup_entry {
	const char *path;        /* relative to the v2 root, starting with '/' */
	uint64_t id;             /* inode number: the cgroup id perf and bpf use */
	const struct rw_identity *identity; /* NULL for a target the `known` callback of rw_cgroup_walk_known knew */
	int dir_fd;              /* open O_RDONLY directory fd of the cgroup (usable as the perf pid), callback only;
				  * -1 for a known target, which the walk does not open (see rw_cgroup_walk_known) */
	int parent_fd;           /* its parent's open directory fd, and its name there: openat(parent_fd, name, ...) */
	const char *name;        /* reaches the cgroup when dir_fd is -1 ("." with parent_fd = dir_fd for the root) */
};

/* Return 0 to go on, negative to stop the walk with that value. */
typedef int (*rw_cgroup_visit_fn)(const struct rw_cgroup_entry *entry, void *arg);

struct rw_walk_stats {
	unsigned dirs;           /* directories looked at */
	unsigned targets;        /* entries passed to the callback */
	unsigned vanished;       /* directories that disappeared during the walk */
};

/* Walk the cgroup tree below `root` (cgroup2, or one v1 hierarchy) and call `visit` for every workload cgroup: a container, Slurm step, systemd
 * service or scope with processes, or any other leaf with processes. The walk does not descend into a target:
 * its sub-cgroups belong to it. Structure cgroups (slices, pods, Slurm jobs) are descended into.
 * include/exclude: fnmatch globs on the relative path (n = 0 means none). Returns 0 or the callback's value, or a
 * negative errno if the root itself cannot be opened. */
int rw_cgroup_walk(const char *root, const char *const *include, unsigned n_include, const char *const *exclude,
		   unsigned n_exclude, rw_cgroup_visit_fn visit, void *arg, struct rw_walk_stats *stats);

/* Is the cgroup with this id already a target? Return true to have the walk offer it again without opening its
 * directory or reading its cgroup.events (entry dir_fd -1): the agent's walk then costs an open, a read and two
 * closes less per target and interval. A known target stays a target while its directory exists, even when its
 * processes have gone. */
typedef bool (*rw_cgroup_known_fn)(uint64_t id, void *arg);

/* rw_cgroup_walk, consulting `known` (may be NULL) for every directory below the root. */
int rw_cgroup_walk_known(const char *root, const char *const *include, unsigned n_include,
			 const char *const *exclude, unsigned n_exclude, rw_cgroup_known_fn known,
			 rw_cgroup_visit_fn visit, void *arg, struct rw_walk_stats *stats);

/* rw_cgroup_walk_known, and `structure` (may be NULL) for every populated directory that is neither a target nor
 * inside one: the root, slices, pod and QoS levels, runtime helpers, a directory with children. Processes found
 * there sit outside every target. The entry has the directory open (dir_fd) and its identity; include/exclude
 * apply to it as to targets. */
int rw_cgroup_walk_all(const char *root, const char *const *include, unsigned n_include,
		       const char *const *exclude, unsigned n_exclude, rw_cgroup_known_fn known,
		       rw_cgroup_visit_fn visit, rw_cgroup_visit_fn structure, void *arg, struct rw_walk_stats *stats);

/* Inode number of a cgroup directory, or 0 if it vanished. */
uint64_t rw_cgroup_id(const char *abs_path);

#endif
