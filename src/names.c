/* names: Kubernetes names from the kubelet's log tree, Slurm user names from the password database; cached. */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/names.h"

#define ID_HEX_LEN 64
/* Entries kept at most: far above a node's pods and containers (kubelet's max-pods is 110 by default, and it
 * removes the logs of deleted pods); a tree larger than this is read up to the bound. */
#define NAMES_MAX 16384
/* Slurm uids remembered (with their name or the lack of one). */
#define USERS_MAX 256

struct pod {
	char uid[40];
	char ns[64];
	char name[128];
};

struct ctr {
	char id[ID_HEX_LEN + 1];
	char ns[64];
	char pod[128];
	char name[64];
};

struct user {
	char uid[12];
	char name[33];   /* "" : no passwd entry */
};

struct tree {
	char dir[512];
	bool scanned;
	struct timespec mtime;
	ino_t ino;
	bool racy;       /* read within the granularity of directory times: a change may not have moved mtime */
};

struct rw_names {
	struct tree pods_tree, ctrs_tree;
	struct pod *pods;
	unsigned n_pods, cap_pods;
	struct ctr *ctrs;
	unsigned n_ctrs, cap_ctrs;
	struct user users[USERS_MAX];
	unsigned n_users, next_user;
	bool checked;    /* the trees were looked at since the last tick */
};

bool rw_names_k8s_valid(const char *p, unsigned len, unsigned max)
{
	if (len == 0 || len >= max)
		return false;
	for (unsigned i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '.'))
			return false;
	return true;
}

/* A pod UID as the kubelet names its directory: a UUID (36) or a static pod's hash (32 hex). */
static bool is_uid(const char *p, size_t n)
{
	if (n < 32 || n > 36)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || p[i] == '-'))
			return false;
	return true;
}

static void put(char *dst, size_t cap, const char *p, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* Split "a_b_c" into exactly three parts; names never hold '_' (DNS labels and subdomains). */
static bool split3(const char *s, size_t n, const char *part[3], size_t len[3])
{
	const char *u1 = memchr(s, '_', n);
	if (!u1)
		return false;
	const char *u2 = memchr(u1 + 1, '_', n - (size_t)(u1 + 1 - s));
	if (!u2 || memchr(u2 + 1, '_', n - (size_t)(u2 + 1 - s)))
		return false;
	part[0] = s, len[0] = (size_t)(u1 - s);
	part[1] = u1 + 1, len[1] = (size_t)(u2 - u1 - 1);
	part[2] = u2 + 1, len[2] = n - (size_t)(u2 + 1 - s);
	return true;
}

/* "<ns>_<pod>_<uid>" */
static bool parse_pod_dir(const char *name, struct pod *out)
{
	const char *p[3];
	size_t l[3];
	if (!split3(name, strlen(name), p, l) || !rw_names_k8s_valid(p[0], (unsigned)l[0], sizeof out->ns) ||
	    !rw_names_k8s_valid(p[1], (unsigned)l[1], sizeof out->name) || !is_uid(p[2], l[2]))
		return false;
	put(out->ns, sizeof out->ns, p[0], l[0]);
	put(out->name, sizeof out->name, p[1], l[1]);
	put(out->uid, sizeof out->uid, p[2], l[2]);
	return true;
}

/* "<pod>_<ns>_<container>-<64 hex>.log" */
static bool parse_ctr_link(const char *name, struct ctr *out)
{
	size_t n = strlen(name);
	if (n < 4 + ID_HEX_LEN + 1 + 5 || strcmp(name + n - 4, ".log") != 0)
		return false;
	n -= 4;
	const char *id = name + n - ID_HEX_LEN;
	if (!rw_identity_is_container_id(id, ID_HEX_LEN) || id[-1] != '-')
		return false;
	const char *p[3];
	size_t l[3];
	if (!split3(name, (size_t)(id - 1 - name), p, l) || !rw_names_k8s_valid(p[0], (unsigned)l[0], sizeof out->pod) ||
	    !rw_names_k8s_valid(p[1], (unsigned)l[1], sizeof out->ns) ||
	    !rw_names_k8s_valid(p[2], (unsigned)l[2], sizeof out->name))
		return false;
	put(out->pod, sizeof out->pod, p[0], l[0]);
	put(out->ns, sizeof out->ns, p[1], l[1]);
	put(out->name, sizeof out->name, p[2], l[2]);
	put(out->id, sizeof out->id, id, ID_HEX_LEN);
	return true;
}

static int grow(void **arr, unsigned *cap, size_t size)
{
	unsigned c = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, (size_t)c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

/* Read a tree again if it changed since the last read (or was never read). A directory that cannot be opened
 * empties its part of the cache: the node is not (or no longer) a Kubernetes node. */
static void rescan(struct rw_names *n, struct tree *t, bool pods)
{
	struct stat st;
	if (!t->dir[0])
		return;
	if (stat(t->dir, &st) < 0) {
		if (pods)
			n->n_pods = 0;
		else
			n->n_ctrs = 0;
		t->scanned = false;
		return;
	}
	if (t->scanned && !t->racy && st.st_ino == t->ino && st.st_mtim.tv_sec == t->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == t->mtime.tv_nsec)
		return;
	DIR *d = opendir(t->dir);
	if (!d)
		return;
	unsigned count = 0;
	for (struct dirent *de; (de = readdir(d)) != NULL && count < NAMES_MAX;) {
		if (pods) {
			struct pod p;
			if (!parse_pod_dir(de->d_name, &p))
				continue;
			if (count == n->cap_pods && grow((void **)&n->pods, &n->cap_pods, sizeof p) < 0)
				break;
			n->pods[count++] = p;
		} else {
			struct ctr c;
			if (!parse_ctr_link(de->d_name, &c))
				continue;
			if (count == n->cap_ctrs && grow((void **)&n->ctrs, &n->cap_ctrs, sizeof c) < 0)
				break;
			n->ctrs[count++] = c;
		}
	}
	closedir(d);
	if (pods)
		n->n_pods = count;
	else
		n->n_ctrs = count;
	t->scanned = true;
	t->ino = st.st_ino;
	t->mtime = st.st_mtim;
	/* Directory times come from a coarse clock (a jiffy): an entry added in the same tick as the one seen
	 * leaves mtime as it was. While the time seen is that recent, read again on the next miss. */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	t->racy = now.tv_sec - st.st_mtim.tv_sec < 2;
}

int rw_names_new(struct rw_names **out, const char *pods_dir, const char *containers_dir)
{
	struct rw_names *n = calloc(1, sizeof *n);
	if (!n)
		return -ENOMEM;
	snprintf(n->pods_tree.dir, sizeof n->pods_tree.dir, "%s", pods_dir ? pods_dir : "");
	snprintf(n->ctrs_tree.dir, sizeof n->ctrs_tree.dir, "%s", containers_dir ? containers_dir : "");
	*out = n;
	return 0;
}

void rw_names_free(struct rw_names *n)
{
	if (!n)
		return;
	free(n->pods);
	free(n->ctrs);
	free(n);
}

void rw_names_tick(struct rw_names *n)
{
	if (n)
		n->checked = false;
}

static const struct pod *find_pod(const struct rw_names *n, const char *uid)
{
	for (unsigned i = 0; i < n->n_pods; i++)
		if (strcmp(n->pods[i].uid, uid) == 0)
			return &n->pods[i];
	return NULL;
}

static const struct ctr *find_ctr(const struct rw_names *n, const char *id)
{
	for (unsigned i = 0; i < n->n_ctrs; i++)
		if (strcmp(n->ctrs[i].id, id) == 0)
			return &n->ctrs[i];
	return NULL;
}

/* Kubernetes names of a pod's container; true when all it can have are set. */
static bool k8s_fill(struct rw_identity *id, const struct pod *p, const struct ctr *c)
{
	if (p && !id->k8s_pod[0]) {
		snprintf(id->k8s_ns, sizeof id->k8s_ns, "%s", p->ns);
		snprintf(id->k8s_pod, sizeof id->k8s_pod, "%s", p->name);
	}
	if (c) {
		if (!id->k8s_pod[0]) {
			snprintf(id->k8s_ns, sizeof id->k8s_ns, "%s", c->ns);
			snprintf(id->k8s_pod, sizeof id->k8s_pod, "%s", c->pod);
		}
		if (!id->k8s_container[0])
			snprintf(id->k8s_container, sizeof id->k8s_container, "%s", c->name);
	}
	return id->k8s_pod[0] && (!id->id[0] || id->k8s_container[0]);
}

static bool k8s_resolve(struct rw_names *n, struct rw_identity *id)
{
	if (!id->pod_uid[0] || (id->k8s_pod[0] && (!id->id[0] || id->k8s_container[0])))
		return true;
	if (k8s_fill(id, find_pod(n, id->pod_uid), id->id[0] ? find_ctr(n, id->id) : NULL))
		return true;
	if (n->checked)
		return false;
	n->checked = true;
	rescan(n, &n->pods_tree, true);
	rescan(n, &n->ctrs_tree, false);
	return k8s_fill(id, find_pod(n, id->pod_uid), id->id[0] ? find_ctr(n, id->id) : NULL);
}

static void user_resolve(struct rw_names *n, struct rw_identity *id)
{
	if (!id->slurm_uid[0] || id->slurm_user[0])
		return;
	for (unsigned i = 0; i < n->n_users; i++) {
		if (strcmp(n->users[i].uid, id->slurm_uid) == 0) {
			snprintf(id->slurm_user, sizeof id->slurm_user, "%s", n->users[i].name);
			return;
		}
	}
	char *end;
	errno = 0;
	unsigned long uid = strtoul(id->slurm_uid, &end, 10);
	if (*end || errno || uid > 0xfffffffful)
		return;
	struct passwd pw, *res = NULL;
	char buf[4096];
	struct user u;
	snprintf(u.uid, sizeof u.uid, "%s", id->slurm_uid);
	u.name[0] = '\0';
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name)
		snprintf(u.name, sizeof u.name, "%s", res->pw_name);
	/* a ring: the oldest uid makes room */
	n->users[n->next_user] = u;
	n->next_user = (n->next_user + 1) % USERS_MAX;
	if (n->n_users < USERS_MAX)
		n->n_users++;
	snprintf(id->slurm_user, sizeof id->slurm_user, "%s", u.name);
}

bool rw_names_resolve(struct rw_names *n, struct rw_identity *id)
{
	if (!n)
		return true;
	user_resolve(n, id);
	return k8s_resolve(n, id);
}
