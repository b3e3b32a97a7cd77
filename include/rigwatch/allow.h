/* allow: exemptions. A target matched by an [allow] rule is `allowed`: scored and shown in /verdicts and the
 * metrics with the rule's reason, but never alerted on and never acted upon (the response records the decision
 * with result "allowed"). The one "should alert or act" decision every output path asks.
 *
 * A rule has a cgroup glob, an identity pattern, or both (then both must match), and a reason:
 *
 *   [allow]
 *   identity = k8s-namespace:crypto-research
 *   reason = "research node of the Monero team, approved SEC-1234"
 *
 * cgroup: fnmatch(3) glob on the cgroup path (with or without the leading '/') or any ancestor, so a rule for a
 * slice or a pod covers everything below it.
 * identity: "kind:glob", kinds: container (64-hex id; 12+ characters without glob match as a prefix), lxc,
 * pod (pod UID), k8s-namespace, k8s-pod (<namespace>/<pod>), k8s-container (<namespace>/<pod>/<container>),
 * slurm-job (<job> or <job>/step_<step>), slurm-user, unit (the innermost systemd unit or any unit on the path),
 * process (a busy process's comm). */
#ifndef RIGWATCH_ALLOW_H
#define RIGWATCH_ALLOW_H

#include <stddef.h>

#include "rigwatch/config.h"
#include "rigwatch/identity.h"

/* The first rule that matches the target, or NULL. */
const struct rw_allow_rule *rw_allow_match(const struct rw_allow_rules *rules, const char *cgroup,
					   const struct rw_identity *id);

/* Check an identity pattern's form: 0, or -EINVAL with a message (no location) in err. */
int rw_allow_identity_check(const char *pattern, char *err, size_t errlen);

#endif
