/* names: the names people use for a workload, where no cgroup path holds them. Kubernetes namespace, pod and
 * container name from the kubelet's on-node log tree (dependency free: directory names only), and the user name
 * of a Slurm job's uid. Called from the sampling thread only.
 *
 * The kubelet keeps, for every pod on the node, a directory <pods_dir>/<namespace>_<pod>_<uid>/ with one
 * directory per container name, and for every container a link
 * <containers_dir>/<pod>_<namespace>_<container>-<container id>.log. Both trees are read into a cache and read
 * again only when a lookup misses and a directory's modification time moved (a new pod or container), at most
 * once per rw_names_tick(). */
#ifndef RIGWATCH_NAMES_H
#define RIGWATCH_NAMES_H

#include <stdbool.h>

#include "rigwatch/identity.h"

struct rw_names;

/* pods_dir, containers_dir: the kubelet's trees ("/var/log/pods", "/var/log/containers"); "" leaves one out.
 * Missing directories are normal (not a Kubernetes node). Returns 0 or -ENOMEM. */
int rw_names_new(struct rw_names **out, const char *pods_dir, const char *containers_dir);
void rw_names_free(struct rw_names *n);

/* Start of an interval: lookups that miss may look at the directories again (once). */
void rw_names_tick(struct rw_names *n);

/* Fill the name fields of *id that its ids give: k8s_ns and k8s_pod from pod_uid (or the container's link),
 * k8s_container from a container id, slurm_user from slurm_uid. Fields already set are kept. Returns true when
 * nothing more can be learnt later (every name its ids call for is filled), false when a retry next interval may
 * find more (the kubelet writes a new container's link after its cgroup exists). */
bool rw_names_resolve(struct rw_names *n, struct rw_identity *id);

/* Whether a Kubernetes name (namespace, pod, container) is one the kubelet could have written: 1..max-1 bytes
 * of [a-z0-9.-]. Exposed for tests. */
bool rw_names_k8s_valid(const char *p, unsigned len, unsigned max);

#endif
