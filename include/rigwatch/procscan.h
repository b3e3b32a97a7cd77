/* procscan: the indicator scan. Cheap and evadable, but what a security team greps for: a target's processes'
 * comm, exe and command line matched against a rule list, and their TCP connections to common pool ports.
 * It also records where the oldest suspicious process came from (its process tree).
 *
 * Rule file (models/indicators.rules): one rule per line, `KIND VALUE`; blank lines and lines starting with '#'
 * are ignored. VALUE is the rest of the line (it may contain spaces, e.g. `cmdline -a rx/0`). Kinds:
 *   name VALUE       comm, exe basename or argv[0] basename equals VALUE (case-insensitive; comm is compared
 *                    with VALUE's first 15 characters, as the kernel truncates it)
 *   exe VALUE        the exe path contains VALUE
 *   cmdline VALUE    the command line (arguments joined by spaces) contains VALUE (case-insensitive)
 *   pool-host VALUE  the command line contains this pool hostname (case-insensitive)
 *   pool-port N      a TCP connection (not a listener) to remote port N, 1..65535
 * Parsing is strict: an unknown kind, an empty value, a bad port or an over-long line is "file:line: message". */
#ifndef RIGWATCH_PROCSCAN_H
#define RIGWATCH_PROCSCAN_H

#include <stddef.h>

#include "rigwatch/sample.h"

/* Bits of struct rw_indicator_evidence.rule_hits. */
#define RW_IND_NAME      (1u << 0)
#define RW_IND_EXE       (1u << 1)
#define RW_IND_CMDLINE   (1u << 2)
#define RW_IND_POOL_HOST (1u << 3)
#define RW_IND_POOL_PORT (1u << 4)

#define RW_PROCSCAN_VALUE_MAX 255

struct rw_procscan_rules;

/* Load a rule file. Returns 0, -EINVAL with "file:line: message" in err, or -errno when it cannot be read. */
int rw_procscan_rules_load(struct rw_procscan_rules **out, const char *path, char *err, size_t errlen);
/* Same from text in memory; name is used in messages. */
int rw_procscan_rules_parse(struct rw_procscan_rules **out, const char *name, const char *text, char *err,
			    size_t errlen);
void rw_procscan_rules_free(struct rw_procscan_rules *rules);
/* Number of rules loaded. */
unsigned rw_procscan_rules_count(const struct rw_procscan_rules *rules);

/* Scan the processes listed in <cgroup_dir>/cgroup.procs, reading <proc_root>/<pid>/{comm,cmdline,exe,stat,status,
 * fd/,net/tcp,net/tcp6} (and <proc_root>/stat for the boot time). A vanished pid is skipped silently. *out is
 * zeroed first; origin[] holds the oldest suspicious process and its ancestors (oldest ancestor last).
 * Returns 0, or -ENOENT when the cgroup directory is gone. */
int rw_procscan_target(const struct rw_procscan_rules *rules, const char *proc_root, const char *cgroup_dir,
		       struct rw_indicator_evidence *out);

/* The same scan of one process (a process target). Its origin chain (it and its ancestors: pid, ppid, uid, start
 * time, comm, exe) is always filled, suspicious or not: it names the process. Returns 0, or -ENOENT when it is
 * gone. */
int rw_procscan_process(const struct rw_procscan_rules *rules, const char *proc_root, int32_t pid,
			struct rw_indicator_evidence *out);

/* Name of one RW_IND_* bit ("name", "exe", "cmdline", "pool-host", "pool-port"). */
const char *rw_procscan_kind_name(unsigned bit);

#endif
