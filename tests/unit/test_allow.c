/* allow: which targets an [allow] rule exempts. Rules come from config text, as an operator writes them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rigwatch/allow.h"
#include "rigwatch/config.h"
#include "rw_test.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define POD_U "8f2c1a54_3b7e_4d1a_9c0e_2b6f4e8d1a37"
#define POD_D "8f2c1a54-3b7e-4d1a-9c0e-2b6f4e8d1a37"
#define KPOD "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_U ".slice/cri-containerd-" H64 ".scope"

static void load(struct rw_config *c, const char *text)
{
	char err[512];
	rw_config_defaults(c);
	int r = rw_config_parse(c, "test.conf", text, err, sizeof err);
	if (r)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT_EQUAL_FATAL(r, 0);
}

/* The reason of the rule matching path (identity from the path, plus names), or NULL. */
static const char *match(const struct rw_config *c, const char *path, const char *ns, const char *pod,
			 const char *ctr, const char *user)
{
	struct rw_identity id;
	rw_identity_from_path(path, &id);
	snprintf(id.k8s_ns, sizeof id.k8s_ns, "%s", ns ? ns : "");
	snprintf(id.k8s_pod, sizeof id.k8s_pod, "%s", pod ? pod : "");
	snprintf(id.k8s_container, sizeof id.k8s_container, "%s", ctr ? ctr : "");
	snprintf(id.slurm_user, sizeof id.slurm_user, "%s", user ? user : "");
	const struct rw_allow_rule *r = rw_allow_match(&c->allow, path, &id);
	return r ? r->reason : NULL;
}

#define EXPECT(c, path, ns, pod, ctr, user, want)                                                          \
	do {                                                                                               \
		const char *got_ = match((c), (path), (ns), (pod), (ctr), (user));                         \
		const char *want_ = (want);                                                                \
		if ((got_ == NULL) != (want_ == NULL) || (got_ && strcmp(got_, want_)))                    \
			fprintf(stderr, "\n  %s: got %s, want %s\n", (path), got_ ? got_ : "(none)",      \
				want_ ? want_ : "(none)");                                                 \
		CU_ASSERT((got_ == NULL) == (want_ == NULL) && (!got_ || !strcmp(got_, want_)));            \
	} while (0)

static void test_cgroup_rules(void)
{
	struct rw_config c;
	load(&c, "[allow]\ncgroup = /system.slice/monero-node.service\nreason = node\n"
		 "[allow]\ncgroup = research.slice/*\nreason = \"research jobs\"\n");
	EXPECT(&c, "/system.slice/monero-node.service", 0, 0, 0, 0, "node");
	/* a rule on a cgroup covers its subtree */
	EXPECT(&c, "/system.slice/monero-node.service/worker", 0, 0, 0, 0, "node");
	EXPECT(&c, "/system.slice/monero-node2.service", 0, 0, 0, 0, NULL);
	/* written without the leading '/' */
	EXPECT(&c, "/research.slice/run-1.scope", 0, 0, 0, 0, "research jobs");
	EXPECT(&c, "/research.slice", 0, 0, 0, 0, NULL);
	EXPECT(&c, "/user.slice/research.slice/x", 0, 0, 0, 0, NULL);
}

static void test_identity_rules(void)
{
	struct rw_config c;
	load(&c, "[allow]\nidentity = k8s-namespace:crypto-*\nreason = ns\n"
		 "[allow]\nidentity = k8s-pod:team-a/xmr-bench-*\nreason = pod\n"
		 "[allow]\nidentity = k8s-container:team-b/*/hasher\nreason = ctr\n"
		 "[allow]\nidentity = slurm-user:alice\nreason = alice\n"
		 "[allow]\nidentity = slurm-job:4242/step_batch\nreason = step\n"
		 "[allow]\nidentity = slurm-job:77\nreason = job\n"
		 "[allow]\nidentity = container:0123456789ab\nreason = \"short id\"\n"
		 "[allow]\nidentity = unit:benchmark@*.service\nreason = unit\n"
		 "[allow]\nidentity = pod:" POD_D "\nreason = uid\n");
	EXPECT(&c, KPOD, "crypto-lab", "p", "c", 0, "ns");
	EXPECT(&c, "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_U "x.slice/x", "crypto-lab", 0,
	       0, 0, "ns");
	EXPECT(&c, "/x/y", "team-a", "xmr-bench-7f9", "c", 0, "pod");
	EXPECT(&c, "/x/y", "team-a", "web-1", "c", 0, NULL);
	EXPECT(&c, "/x/y", "team-b", "web-1", "hasher", 0, "ctr");
	EXPECT(&c, "/x/y", "team-b", "web-1", "nginx", 0, NULL);
	/* names not (yet) known match nothing */
	EXPECT(&c, "/x/y", "", "", "", 0, NULL);
	EXPECT(&c, "/slurm/uid_1000/job_5/step_0", 0, 0, 0, "alice", "alice");
	EXPECT(&c, "/slurm/uid_1000/job_5/step_0", 0, 0, 0, "bob", NULL);
	EXPECT(&c, "/system.slice/slurmstepd.scope/job_4242/step_batch", 0, 0, 0, 0, "step");
	EXPECT(&c, "/system.slice/slurmstepd.scope/job_4242/step_0", 0, 0, 0, 0, NULL);
	EXPECT(&c, "/system.slice/slurmstepd.scope/job_77/step_3", 0, 0, 0, 0, "job");
	EXPECT(&c, "/system.slice/docker-" H64 ".scope", 0, 0, 0, 0, "short id");
	EXPECT(&c, "/system.slice/benchmark@3.service", 0, 0, 0, 0, "unit");
	EXPECT(&c, "/system.slice/benchmark@3.service/sub", 0, 0, 0, 0, "unit");
	/* the first rule that matches gives the reason: this container's id matches an earlier rule */
	EXPECT(&c, KPOD, 0, 0, 0, 0, "short id");
	/* the pod UID, names unknown */
	EXPECT(&c, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_U ".slice/cri-containerd-"
	       "f123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope", 0, 0, 0, 0, "uid");
}

/* Both conditions of one rule must hold; the first matching rule gives the reason. */
static void test_both_and_order(void)
{
	struct rw_config c;
	load(&c, "[allow]\ncgroup = /kubepods.slice/*\nidentity = k8s-namespace:ml\nreason = first\n"
		 "[allow]\nidentity = k8s-namespace:*\nreason = second\n");
	EXPECT(&c, KPOD, "ml", "p", "c", 0, "first");
	EXPECT(&c, "/other/x", "ml", "p", "c", 0, "second");
	EXPECT(&c, "/other/x", "", "", "", 0, NULL);
	rw_config_defaults(&c);
	EXPECT(&c, KPOD, "ml", "p", "c", 0, NULL);
	CU_ASSERT_PTR_NULL(rw_allow_match(NULL, "/x", NULL));
}

static void test_identity_check(void)
{
	char err[256];
	CU_ASSERT_EQUAL(rw_allow_identity_check("k8s-namespace:x", err, sizeof err), 0);
	CU_ASSERT_EQUAL(rw_allow_identity_check("process:xmrig", err, sizeof err), 0);
	CU_ASSERT_EQUAL(rw_allow_identity_check("k8s-namespace:", err, sizeof err), -EINVAL);
	CU_ASSERT_EQUAL(rw_allow_identity_check("namespace:x", err, sizeof err), -EINVAL);
	CU_ASSERT_EQUAL(rw_allow_identity_check("x", err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected KIND:PATTERN"));
}

static const rw_test tests[] = {
	RW_TEST(test_cgroup_rules),
	RW_TEST(test_identity_rules),
	RW_TEST(test_both_and_order),
	RW_TEST(test_identity_check),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("allow", tests);
}
