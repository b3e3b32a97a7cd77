/* config: the agent's settings. Embedded defaults, overlaid by an INI-style file (`[section]`, `key = value`,
 * `#` comments), overlaid by command-line flags. Parsing is strict: an unknown section or key, or a bad value,
 * is an error naming file:line, and the caller's config is left untouched. */
#ifndef RIGWATCH_CONFIG_H
#define RIGWATCH_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rigwatch/buf.h"

#define RW_CONFIG_MAX_GLOBS 32
#define RW_CONFIG_GLOB_LEN  256
#define RW_CONFIG_PATH_LEN  512

/* An exemption: targets it matches are scored and shown, never alerted on or acted upon (see allow.h). Written as
 * its own [allow] section, one per rule; reason is required. */
#define RW_CONFIG_MAX_ALLOW 64
#define RW_ALLOW_REASON_LEN 200
struct rw_allow_rule {
	char cgroup[RW_CONFIG_GLOB_LEN];     /* glob on the cgroup path or an ancestor; "" = not a condition */
	char identity[RW_CONFIG_GLOB_LEN];   /* "kind:glob" (allow.h lists the kinds); "" = not a condition */
	char reason[RW_ALLOW_REASON_LEN];
};

struct rw_allow_rules {
	unsigned n;
	struct rw_allow_rule r[RW_CONFIG_MAX_ALLOW];
};

enum rw_response_mode { RW_RESPONSE_OFF = 0, RW_RESPONSE_DRY_RUN, RW_RESPONSE_FREEZE, RW_RESPONSE_KILL };

struct rw_glob_list {
	unsigned n;
	char items[RW_CONFIG_MAX_GLOBS][RW_CONFIG_GLOB_LEN];
};

/* Fractions and core counts are Q16.16 (65536 = 1.0): no floating point anywhere in the agent. */
struct rw_config {
	/* [agent] */
	uint32_t interval_ms;
	char listen_address[128];
	char log_level[8];
	char log_format[8];                   /* "logfmt" or "json" */
	char cgroup_root[RW_CONFIG_PATH_LEN]; /* "" = found from /proc/self/mountinfo */
	char proc_root[RW_CONFIG_PATH_LEN];   /* "/proc" */
	struct rw_glob_list include;          /* targets: cgroup path globs; empty = every workload cgroup */
	struct rw_glob_list exclude;
	int32_t attention_cpu_q16;            /* cores used above which a target gets hardware counters */
	uint32_t max_open_files;              /* RLIMIT_NOFILE to ask for */
	uint32_t counter_fd_budget;           /* most fds spent on counters; 0 = 3/4 of RLIMIT_NOFILE */
	char pmu_table[32];                   /* "auto" or a table's PMU name */
	char kube_containers_dir[RW_CONFIG_PATH_LEN]; /* kubelet's container log links: Kubernetes names; "" = off */

	/* [fpprobe] */
	bool fpprobe_enabled;
	char fpprobe_path[8];                 /* "auto" (eBPF where it loads, else ptrace), "bpf" or "ptrace" */
	char fpprobe_btf[RW_CONFIG_PATH_LEN]; /* BTF file for the eBPF path's relocations; "" = the kernel's */
	uint32_t fpprobe_max_probes;          /* register reads per interval, all targets */
	uint32_t fpprobe_reads_per_thread;    /* spread over the interval */
	int32_t fpprobe_min_thread_cpu_q16;   /* share of a core a thread must use to be probed (0: any that ran) */
	int32_t fpprobe_min_target_cpu_q16;   /* cores a target must use to get probe reads */

	/* [procscan] */
	bool procscan_enabled;
	char procscan_rules[RW_CONFIG_PATH_LEN];

	/* [model] */
	char model_file[RW_CONFIG_PATH_LEN];

	/* [verdict] */
	uint32_t verdict_enter_k, verdict_enter_n, verdict_leave_m;
	int32_t suspect_threshold_q16, mining_threshold_q16;

	/* [response] */
	enum rw_response_mode response;
	uint32_t response_min_intervals;      /* intervals in `mining` before acting */
	int32_t response_min_score_q16;
	uint32_t response_max_actions_per_min;
	char audit_log[RW_CONFIG_PATH_LEN];
	struct rw_glob_list allow_cgroups;
	struct rw_glob_list allow_identities; /* "docker:<id>", "pod:<uid>", "slurm:<job>", "unit:<name>" */
	struct rw_glob_list unprotect;        /* cgroup globs lifting the built-in protected set where they match */
	bool response_process_targets;        /* act on per-process targets (by pid, start time checked) */
	char kube_pods_dir[RW_CONFIG_PATH_LEN]; /* kubelet's pod log dirs (<ns>_<pod>_<uid>): kube-system pods for
						 * the response, and Kubernetes names; "" = off */

	/* [http] */
	uint32_t http_max_connections, http_per_ip_connections, http_timeout_s, http_memory_limit;
	char http_web_config_file[RW_CONFIG_PATH_LEN]; /* "" = plain HTTP, no authentication (see webconfig.h) */

	/* [alerts] */
	char alerts_output[RW_CONFIG_PATH_LEN]; /* "stdout", "" (off) or a file path */
	bool alerts_syslog;                       /* each alert also to the syslog socket */
	char alerts_syslog_socket[RW_CONFIG_PATH_LEN]; /* unix datagram socket, "/dev/log" */
	char alerts_http_url[RW_CONFIG_PATH_LEN]; /* "" off, else http://host[:port][/path]: JSON POSTs */
	uint32_t alerts_http_retries;             /* further tries after a failed POST */
	uint32_t alerts_http_timeout_ms;          /* connect, send and answer, per try */
	uint32_t alerts_http_queue;               /* alerts waiting for the sender; more are dropped and counted */

	/* [docker] */
	char docker_root[RW_CONFIG_PATH_LEN];   /* dockerd --data-root: names from containers/<id>/config.v2.json */
	char docker_socket[RW_CONFIG_PATH_LEN]; /* the engine API socket: responses Docker records (pause, kill) */
	struct rw_glob_list docker_labels;      /* label keys shown with a container's names (at most 4 per container) */
	bool docker_respond_via_api;            /* freeze/kill Docker containers through the engine API when it answers */

	/* [podman] */
	char podman_storage_root[RW_CONFIG_PATH_LEN]; /* containers/storage root: names from <driver>-containers/
						       * containers.json */
	/* [allow] sections, in file order */
	struct rw_allow_rules allow;
};

/* Embedded defaults. */
void rw_config_defaults(struct rw_config *cfg);

/* Overlay the settings of `path` on *cfg. On error returns -EINVAL (or -errno for I/O), writes
 * "file:line: message" into err, and leaves *cfg as it was. */
int rw_config_load(struct rw_config *cfg, const char *path, char *err, size_t errlen);
/* Same, from text in memory; `name` is used in messages. */
int rw_config_parse(struct rw_config *cfg, const char *name, const char *text, char *err, size_t errlen);

/* Set one key, as from a flag: section.key=value ("agent.interval", "response.mode"). */
int rw_config_set(struct rw_config *cfg, const char *section, const char *key, const char *value,
		  char *err, size_t errlen);

/* Print the effective configuration in the file format (parsable back). */
void rw_config_print(const struct rw_config *cfg, FILE *out);

const char *rw_response_mode_name(enum rw_response_mode mode);

/* Decimal "0.05", "1", "2.5" to Q16.16, rounding to nearest; -EINVAL on junk or overflow. */
int rw_parse_q16(const char *text, int32_t *out);
/* Its inverse, rw_format_q16, is in buf.h. */

#endif
