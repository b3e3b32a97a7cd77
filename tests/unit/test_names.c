/* names: Kubernetes names from fixture trees built as the kubelet builds /var/log/pods and /var/log/containers,
 * and Slurm user names from the password database. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rigwatch/names.h"
#include "rw_test.h"

#define UID1 "8f2c1a54-3b7e-4d1a-9c0e-2b6f4e8d1a37"
#define UID2 "0d3e5f70-1a2b-4c3d-8e9f-a0b1c2d3e4f5"
#define STATIC_UID "6c0c5b4d7f1e2a3b9c8d7e6f5a4b3c2d" /* a static pod's config hash */
#define CID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define CID2 "2222222222222222222222222222222222222222222222222222222222222222"
#define CID3 "3333333333333333333333333333333333333333333333333333333333333333"
#define PAUSE "9999999999999999999999999999999999999999999999999999999999999999"

static char root[256], pods[300], ctrs[300];

static void mkdirs(const char *fmt, const char *a, const char *b, const char *c)
{
	char p[1024];
	snprintf(p, sizeof p, fmt, a, b, c);
	CU_ASSERT_FATAL(mkdir(p, 0755) == 0 || errno == EEXIST);
}

/* What the kubelet does for a container: its directory under the pod's, a log file, the link to it. */
static void kubelet_container(const char *ns, const char *pod, const char *uid, const char *ctr, const char *cid)
{
	char dir[1024], log[1100], link[1024];
	snprintf(dir, sizeof dir, "%s/%s_%s_%s", pods, ns, pod, uid);
	CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 || errno == EEXIST);
	snprintf(dir, sizeof dir, "%s/%s_%s_%s/%s", pods, ns, pod, uid, ctr);
	CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 || errno == EEXIST);
	snprintf(log, sizeof log, "%s/0.log", dir);
	FILE *f = fopen(log, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	snprintf(link, sizeof link, "%s/%s_%s_%s-%s.log", ctrs, pod, ns, ctr, cid);
	CU_ASSERT_FATAL(symlink(log, link) == 0);
}

static void setup_root(void)
{
	snprintf(root, sizeof root, "/tmp/rw-names.%d.XXXXXX", (int)getpid());
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
	snprintf(pods, sizeof pods, "%s/pods", root);
	snprintf(ctrs, sizeof ctrs, "%s/containers", root);
}

static void cleanup_root(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void k8s_id(struct rw_identity *id, const char *uid, const char *cid)
{
	memset(id, 0, sizeof *id);
	id->kind = RW_KIND_CONTAINER;
	snprintf(id->runtime, sizeof id->runtime, "containerd");
	snprintf(id->pod_uid, sizeof id->pod_uid, "%s", uid);
	snprintf(id->id, sizeof id->id, "%s", cid);
}

static void test_k8s_names(void)
{
	struct rw_names *n;
	struct rw_identity id;

	setup_root();
	CU_ASSERT_FATAL(rw_names_new(&n, pods, ctrs) == 0);

	/* not a Kubernetes node (yet): nothing, and the lookup may be retried */
	k8s_id(&id, UID1, CID1);
	rw_names_tick(n);
	CU_ASSERT_FALSE(rw_names_resolve(n, &id));
	CU_ASSERT_STRING_EQUAL(id.k8s_pod, "");

	mkdirs("%s%s%s", pods, "", "");
	mkdirs("%s%s%s", ctrs, "", "");
	kubelet_container("team-a", "web-7d9c5b6f4-x2x9z", UID1, "nginx", CID1);
	kubelet_container("team-a", "web-7d9c5b6f4-x2x9z", UID1, "log-shipper", CID2);
	kubelet_container("kube-system", "etcd-node1", STATIC_UID, "etcd", CID3);

	/* the trees are looked at once per tick */
	CU_ASSERT_FALSE(rw_names_resolve(n, &id));
	rw_names_tick(n);
	CU_ASSERT_TRUE(rw_names_resolve(n, &id));
	CU_ASSERT_STRING_EQUAL(id.k8s_ns, "team-a");
	CU_ASSERT_STRING_EQUAL(id.k8s_pod, "web-7d9c5b6f4-x2x9z");
	CU_ASSERT_STRING_EQUAL(id.k8s_container, "nginx");

	/* from the cache, without a tick */
	k8s_id(&id, UID1, CID2);
	CU_ASSERT_TRUE(rw_names_resolve(n, &id));
	CU_ASSERT_STRING_EQUAL(id.k8s_container, "log-shipper");
	k8s_id(&id, STATIC_UID, CID3);
	CU_ASSERT_TRUE(rw_names_resolve(n, &id));
	CU_ASSERT_STRING_EQUAL(id.k8s_ns, "kube-system");
	CU_ASSERT_STRING_EQUAL(id.k8s_pod, "etcd-node1");
	CU_ASSERT_STRING_EQUAL(id.k8s_container, "etcd");

	/* the pod level (no container id) needs the pod only */
	k8s_id(&id, UID1, "");
	CU_ASSERT_TRUE(rw_names_resolve(n, &id));
	CU_ASSERT_STRING_EQUAL(id.k8s_pod, "web-7d9c5b6f4-x2x9z");
	CU_ASSERT_STRING_EQUAL(id.k8s_container, "");

	/* the sandbox (pause) container has no log link: pod names, no container name, retried */
	k8s_id(&id, UID1, PAUSE);
	rw_names_tick(n);
	CU_ASSERT_FALSE(rw_names_resolve(n, &id));
	CU_ASSERT_STRING_EQUAL(id.k8s_ns, "team-a");
	CU_ASSERT_STRING_EQUAL(id.k8s_container, "");

	/* a new pod appears: found after the next tick (the directories' mtime moved) */
	char cid4[65];
	snprintf(cid4, sizeof cid4, "%.63s8", PAUSE);
	k8s_id(&id, UID2, cid4);
	CU_ASSERT_FALSE(rw_names_resolve(n, &id));   /* this tick's look was spent above */
	kubelet_container("batch", "job-x-4tq7n", UID2, "worker", cid4);
	CU_ASSERT_FALSE(rw_names_resolve(n, &id));
	rw_names_tick(n);
	CU_ASSERT_TRUE(rw_names_resolve(n, &id));
	CU_ASSERT_STRING_EQUAL(id.k8s_ns, "batch");
	CU_ASSERT_STRING_EQUAL(id.k8s_pod, "job-x-4tq7n");
	CU_ASSERT_STRING_EQUAL(id.k8s_container, "worker");

	/* not a pod at all: nothing to learn */
	memset(&id, 0, sizeof id);
	snprintf(id.id, sizeof id.id, "%s", CID1);
	CU_ASSERT_TRUE(rw_names_resolve(n, &id));
	CU_ASSERT_STRING_EQUAL(id.k8s_container, "");

	rw_names_free(n);
	cleanup_root();
}

/* Entries the kubelet would never write are ignored, not half-read. */
static void test_k8s_junk(void)
{
	struct rw_names *n;
	struct rw_identity id;
	char p[1024];

	setup_root();
	mkdirs("%s%s%s", pods, "", "");
	mkdirs("%s%s%s", ctrs, "", "");
	mkdirs("%s/Team_web_%s", pods, UID1, "");            /* uppercase namespace */
	mkdirs("%s/a_b_c_%s", pods, UID1, "");               /* four parts */
	mkdirs("%s/ns_pod_%s", pods, "not-a-uid", "");
	mkdirs("%s/ns\nx_pod_%s", pods, UID2, "");           /* control byte */
	snprintf(p, sizeof p, "%s/pod_ns_ctr-%.63s.log", ctrs, CID1);   /* 63 hex */
	CU_ASSERT_FATAL(symlink("/nonexistent", p) == 0);
	snprintf(p, sizeof p, "%s/pod_ns_ctr_%s.log", ctrs, CID2);      /* '_' before the id */
	CU_ASSERT_FATAL(symlink("/nonexistent", p) == 0);
	snprintf(p, sizeof p, "%s/pod_ns_ctr-%s.txt", ctrs, CID3);
	CU_ASSERT_FATAL(symlink("/nonexistent", p) == 0);

	CU_ASSERT_FATAL(rw_names_new(&n, pods, ctrs) == 0);
	const char *uids[] = { UID1, UID2 }, *cids[] = { CID1, CID2, CID3 };
	for (unsigned u = 0; u < 2; u++) {
		for (unsigned c = 0; c < 3; c++) {
			k8s_id(&id, uids[u], cids[c]);
			rw_names_tick(n);
			CU_ASSERT_FALSE(rw_names_resolve(n, &id));
			CU_ASSERT_STRING_EQUAL(id.k8s_ns, "");
			CU_ASSERT_STRING_EQUAL(id.k8s_pod, "");
			CU_ASSERT_STRING_EQUAL(id.k8s_container, "");
		}
	}
	CU_ASSERT_TRUE(rw_names_k8s_valid("kube-system", 11, 64));
	CU_ASSERT_FALSE(rw_names_k8s_valid("a_b", 3, 64));
	CU_ASSERT_FALSE(rw_names_k8s_valid("", 0, 64));
	CU_ASSERT_FALSE(rw_names_k8s_valid("abcd", 4, 4));
	rw_names_free(n);
	cleanup_root();
}

static void test_slurm_user(void)
{
	struct rw_names *n;
	struct rw_identity id;
	struct passwd *pw = getpwuid(0);
	char root_name[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(pw);
	snprintf(root_name, sizeof root_name, "%s", pw->pw_name);   /* getpwuid's storage is reused */

	CU_ASSERT_FATAL(rw_names_new(&n, "", "") == 0);
	rw_identity_from_path("/slurm/uid_0/job_4242/step_0", &id);
	CU_ASSERT_STRING_EQUAL(id.slurm_uid, "0");
	CU_ASSERT_TRUE(rw_names_resolve(n, &id));
	CU_ASSERT_STRING_EQUAL(id.slurm_user, root_name);
	CU_ASSERT_STRING_EQUAL(id.slurm_job, "4242");
	CU_ASSERT_STRING_EQUAL(id.slurm_step, "0");

	/* a uid without a passwd entry: no name, and no error */
	rw_identity_from_path("/slurm/uid_3999999999/job_1/step_batch", &id);
	CU_ASSERT_TRUE(getpwuid(3999999999u) == NULL);
	CU_ASSERT_TRUE(rw_names_resolve(n, &id));
	CU_ASSERT_STRING_EQUAL(id.slurm_user, "");
	/* the cached answer, twice */
	rw_identity_from_path("/slurm/uid_0/job_5/step_1", &id);
	CU_ASSERT_TRUE(rw_names_resolve(n, &id));
	CU_ASSERT_STRING_EQUAL(id.slurm_user, root_name);
	rw_names_free(n);
	CU_ASSERT_TRUE(rw_names_resolve(NULL, &id));
}

static const rw_test tests[] = {
	RW_TEST(test_k8s_names),
	RW_TEST(test_k8s_junk),
	RW_TEST(test_slurm_user),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("names", tests);
}
