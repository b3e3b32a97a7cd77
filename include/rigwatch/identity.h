/* identity: what a cgroup path says about the workload in it (container runtime and id, pod, Slurm job,
 * systemd unit). Pure string work on the path relative to the cgroup2 root; no I/O. */
#ifndef RIGWATCH_IDENTITY_H
#define RIGWATCH_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

/* Kinds of workload a target can be. RW_KIND_NONE: a cgroup that is only structure (slices, kubepods QoS
 * levels, a runtime's own helper such as Podman's conmon) and never a target by itself. */
enum rw_workload_kind {
	RW_KIND_NONE = 0,
	RW_KIND_CONTAINER,   /* docker, containerd, cri-o, podman, lxc */
	RW_KIND_SLURM,       /* Slurm job or step */
	RW_KIND_SERVICE,     /* systemd .service */
	RW_KIND_SCOPE,       /* systemd .scope (sessions, transient units) */
	RW_KIND_OTHER,       /* anything else: a leaf with processes */
	RW_KIND_PROCESS,     /* one busy process outside every target cgroup (root cgroup, a slice): runtime
			      * "process", id its pid, name its comm, unit the innermost unit of its cgroup */
};

struct rw_identity {
	enum rw_workload_kind kind;
	char runtime[16];    /* "docker", "containerd", "cri-o", "podman", "lxc", "slurm", "systemd", "" */
	char id[72];         /* container id (64 lowercase hex) or LXC name */
	char name[128];      /* LXC name, unit (service/scope), "1234/step_0" (Slurm), else the last component */
	char pod_uid[40];    /* Kubernetes pod UID with dashes restored (pod slice and its containers) */
	char slurm_job[24];  /* Slurm job id: "1234" */
	char slurm_step[24]; /* Slurm step: "0", "batch", "extern", "interactive" ("" at the job level) */
	char slurm_uid[12];  /* the job owner's uid where the path says it (/slurm/uid_<u>/job_<j>/...), else "" */
	char unit[160];      /* innermost systemd unit (.service/.scope/.slice/...) anywhere in the path */
	/* Names no cgroup path holds, filled by the names module (names.h) where the host has them: */
	char slurm_user[33]; /* user name of slurm_uid (getpwuid_r) */
	char k8s_ns[64];     /* Kubernetes namespace, pod and container name of pod_uid and id */
	char k8s_pod[128];
	char k8s_container[64];
};

/* Fill *out from a path relative to the cgroup2 root, with or without leading/trailing '/'.
 * Always succeeds: an unknown shape gives kind RW_KIND_OTHER with the innermost unit if any.
 * Runtime helpers (libpod-conmon-*, crio-conmon-*, lxc.monitor.*), slices, user@<uid>.service, kubepods
 * QoS/pod levels, a Slurm job without a step, and the root give RW_KIND_NONE. Slurm steps are found in the
 * cgroup/v2 layout (slurmstepd.scope/job_<j>/step_<s>) and the cgroup/v1 one (slurm[_<node>]/uid_<u>/job_<j>/
 * step_<s>, which also gives the owner's uid). The outermost container or Slurm
 * step in the path wins, so anything nested below one maps to it. Fields are truncated (at a UTF-8 boundary,
 * control bytes shown as '?'), never overflowed. */
void rw_identity_from_path(const char *path, struct rw_identity *out);

/* A short stable label for tables and logs: "docker:0123456789ab" (12 hex), "lxc:web01", "slurm:1234/step_0",
 * "systemd:nginx.service", else "cgroup:<last component>" ("cgroup:/" for the root). Truncated to len. */
void rw_identity_label(const struct rw_identity *id, char *buf, size_t len);

/* A container id as runtimes write it: exactly 64 lowercase hex digits (p need not be terminated). */
bool rw_identity_is_container_id(const char *p, size_t n);

const char *rw_workload_kind_name(enum rw_workload_kind kind);

#endif
