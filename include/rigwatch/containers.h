/* containers: the names people use for a container target (name, image, labels, start time), read from the
 * engine's on-disk state, and where a convicted container's miner came from (its process tree, whether it is the
 * container's entry point or was started inside it later).
 *
 * Docker: <docker.root>/containers/<id>/config.v2.json, the file dockerd itself keeps current (it is rewritten on
 * every state change: start, pause, restart). Read from disk rather than over the API socket: a stat() per
 * container every few intervals, no request to a daemon on the sampling path, and names survive a dockerd that
 * hangs or is restarting. A missing or malformed file costs only the names. */
#ifndef RIGWATCH_CONTAINERS_H
#define RIGWATCH_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rigwatch/config.h"

#define RW_CONTAINER_LABELS 4

struct rw_container_label {
	char key[64];
	char value[128];
};

/* What the engine says about one container. Strings are sanitized (no control bytes, whole UTF-8 characters). */
struct rw_container_meta {
	bool have;                      /* read from the engine's state */
	bool running, paused;
	char engine[16];                /* "docker" */
	char short_id[13];              /* 12 hex */
	char name[128];                 /* "web" (Docker's leading '/' removed) */
	char image[256];                /* the reference it was started from: "acme/web:2.1" */
	char image_repository[200];     /* "acme/web" */
	char image_tag[128];            /* "2.1"; "latest" when the reference names none; "" for a digest */
	char image_id[80];              /* "sha256:<64 hex>" */
	uint64_t started_ns;            /* State.StartedAt, Unix ns; 0 unknown */
	int32_t pid;                    /* State.Pid: the container's first process as the host sees it; 0 none */
	unsigned n_labels;
	struct rw_container_label labels[RW_CONTAINER_LABELS]; /* those matching docker.labels, in file order */
};

/* Parse a Docker config.v2.json held in text (len bytes). labels: globs on label keys to keep (at most
 * RW_CONTAINER_LABELS). Returns 0, or -EINVAL with "what" in err (out->have false). */
int rw_docker_config_parse(const char *text, size_t len, const struct rw_glob_list *labels,
			   struct rw_container_meta *out, char *err, size_t errlen);

/* The file of one container: "<root>/containers/<id>/config.v2.json" into path. */
void rw_docker_config_path(const char *docker_root, const char *id, char *path, size_t len);

/* Read and parse it. *mtime_ns gets the file's modification time (0 when it cannot be read), so a caller can
 * skip a re-read until it changes. Returns 0, -ENOENT (no such container, no engine), -EINVAL (malformed, with
 * err "file: what"), or another negative errno. */
int rw_docker_meta_read(const char *docker_root, const char *id, const struct rw_glob_list *labels,
			struct rw_container_meta *out, uint64_t *mtime_ns, char *err, size_t errlen);
/* Modification time of that file in ns, 0 when it cannot be stat()ed. */
uint64_t rw_docker_meta_mtime(const char *docker_root, const char *id);

/* "acme/web:2.1" -> "acme/web", "2.1"; "registry:5000/x" -> "registry:5000/x", "latest";
 * "x@sha256:..." -> "x", "". */
void rw_image_ref_split(const char *ref, char *repo, size_t repolen, char *tag, size_t taglen);

/* RFC 3339 UTC with optional fraction ("2026-11-30T06:42:59.596327682Z") to Unix ns. Go's zero time
 * ("0001-01-01T00:00:00Z") and anything before 1970 give 0. Returns 0 or -EINVAL. */
int rw_parse_rfc3339_ns(const char *s, uint64_t *ns);

/* ---- origin ------------------------------------------------------------------------------------------------ */

#define RW_ORIGIN_CHAIN_MAX 6

struct rw_origin_proc {
	int32_t pid, ppid;
	uint32_t uid;
	uint64_t start_ns;              /* Unix ns */
	char comm[16];
	char exe[128];
	char cmdline[192];              /* arguments joined by spaces, sanitized, truncated */
};

enum rw_origin_start {
	RW_ORIGIN_UNKNOWN = 0,          /* the container's first process is not known */
	RW_ORIGIN_ENTRYPOINT,           /* the miner is the container's entry point (or its init's only child) */
	RW_ORIGIN_SPAWNED,              /* a descendant of the entry point: started by the running service */
	RW_ORIGIN_EXEC,                 /* outside the entry point's tree: started later from outside (docker exec) */
};

struct rw_container_origin {
	bool have;
	enum rw_origin_start started;
	uint64_t hashing_since_ns;      /* first interval whose evidence showed hashing */
	unsigned n;
	struct rw_origin_proc chain[RW_ORIGIN_CHAIN_MAX]; /* [0] the hashing process, then its parents: up to the
							 * container's first process, or the first one outside */
};

/* Find the hashing process among those in cgroup_procs (a cgroup.procs file): among the processes holding
 * RandomX's memory footprint (192 MiB or more anonymous memory; all of them where none does), the oldest of those
 * that used at least half the CPU time of the busiest one (RandomX keeps its threads on the CPU; among several
 * miners the oldest is where it started). Then its parent chain, and how it started relative to first_pid
 * (State.Pid; 0 unknown). Reads <proc_root>/<pid>/{stat,status,exe,cmdline}. Returns 0, -ENOENT when no process
 * could be read (out->have false). */
int rw_container_origin_read(const char *proc_root, const char *cgroup_procs, int32_t first_pid,
			     struct rw_container_origin *out);

/* "unknown", "entrypoint", "spawned", "exec" */
const char *rw_origin_start_name(enum rw_origin_start s);
/* One line for an operator: "entrypoint: /usr/sbin/nginx (pid 7451) is the container's entry point" ... */
void rw_origin_describe(const struct rw_container_origin *o, char *buf, size_t len);

#endif
