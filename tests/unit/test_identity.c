/* test_identity: one table row per real cgroup path shape (shared/notes/ecosystem.md B2: docker docs, libsinsp
 * cri.cpp/podman.cpp/lxc.cpp tables and unit tests, kubelet cgroup_manager_linux.go, SchedMD cgroup_v2 doc),
 * plus negative rows. Every field of the result is compared, so a row cannot pass by accident. */
#include <stdint.h>
#include <string.h>

#include "rigwatch/identity.h"
#include "rw_test.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define H64U "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
/* libsinsp test ids, for rows copied from its unit tests */
#define CRIO_ID "63b3ebfc28907b5a27a2ac0a35a7d6fd4f80ca5d1c7ad5b4c1c8f6ed6c1a7c1a"
#define POD_U "ac04f3f2_1f2c_11e9_b015_1ebee232acfa"
#define POD_D "ac04f3f2-1f2c-11e9-b015-1ebee232acfa"

#define NONE RW_KIND_NONE
#define CTR RW_KIND_CONTAINER
#define SLURM RW_KIND_SLURM
#define SVC RW_KIND_SERVICE
#define SCOPE RW_KIND_SCOPE
#define OTHER RW_KIND_OTHER

struct row {
	const char *path;
	enum rw_workload_kind kind;
	const char *runtime, *id, *name, *pod_uid, *slurm_job, *unit;
	const char *label;
};

static const struct row rows[] = {
	/* Docker */
	{ "/system.slice/docker-" H64 ".scope", CTR, "docker", H64, "", "", "", "docker-" H64 ".scope",
	  "docker:0123456789ab" },
	{ "system.slice/docker-" H64 ".scope/", CTR, "docker", H64, "", "", "", "docker-" H64 ".scope",
	  "docker:0123456789ab" },
	{ "/docker/" H64, CTR, "docker", H64, "", "", "", "", "docker:0123456789ab" },
	{ "/docker", NONE, "", "", "docker", "", "", "", "cgroup:docker" },
	{ "/my-parent/" H64, CTR, "docker", H64, "", "", "", "", "docker:0123456789ab" },
	{ "/system.slice/docker-" H64 ".scope/init.scope", CTR, "docker", H64, "", "", "", "init.scope",
	  "docker:0123456789ab" },
	/* containerd / CRI, systemd driver */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_U ".slice/cri-containerd-" H64 ".scope",
	  CTR, "containerd", H64, "", POD_D, "", "cri-containerd-" H64 ".scope", "containerd:0123456789ab" },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_U ".slice/cri-containerd-" H64
	  ".scope/sub", CTR, "containerd", H64, "", POD_D, "", "cri-containerd-" H64 ".scope",
	  "containerd:0123456789ab" },
	{ "/kubepods.slice/kubepods-pod" POD_U ".slice/cri-containerd-" H64 ".scope", CTR, "containerd", H64, "", POD_D,
	  "", "cri-containerd-" H64 ".scope", "containerd:0123456789ab" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_U ".slice:cri-containerd:" H64, CTR,
	  "containerd", H64, "", POD_D, "", "kubepods-burstable.slice", "containerd:0123456789ab" },
	/* pod and QoS levels: structure, the pod level carries the UID */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_U ".slice", NONE, "", "",
	  "kubepods-burstable-pod" POD_U ".slice", POD_D, "", "kubepods-burstable-pod" POD_U ".slice",
	  "cgroup:kubepods-burstable-pod" POD_U ".slice" },
	{ "/kubepods.slice/kubepods-burstable.slice", NONE, "", "", "kubepods-burstable.slice", "", "",
	  "kubepods-burstable.slice", "cgroup:kubepods-burstable.slice" },
	{ "/kubepods.slice", NONE, "", "", "kubepods.slice", "", "", "kubepods.slice", "cgroup:kubepods.slice" },
	/* K8s cgroupfs driver (libsinsp containerd_cgroupfs / crio_cgroupfs) */
	{ "/kubepods/besteffort/pod" POD_D "/" H64, CTR, "containerd", H64, "", POD_D, "", "",
	  "containerd:0123456789ab" },
	{ "/kubepods/pod" POD_D "/" H64, CTR, "containerd", H64, "", POD_D, "", "", "containerd:0123456789ab" },
	{ "/kubepods/besteffort/pod" POD_D, NONE, "", "", "pod" POD_D, POD_D, "", "", "cgroup:pod" POD_D },
	{ "/kubepods/burstable", NONE, "", "", "burstable", "", "", "", "cgroup:burstable" },
	{ "/kubepods/besteffort/pod" POD_D "/crio-" CRIO_ID, CTR, "cri-o", CRIO_ID, "", POD_D, "", "",
	  "cri-o:63b3ebfc2890" },
	/* CRI-O systemd (libsinsp crio_systemd) and its conmon */
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_U ".slice/crio-" CRIO_ID ".scope",
	  CTR, "cri-o", CRIO_ID, "", POD_D, "", "crio-" CRIO_ID ".scope", "cri-o:63b3ebfc2890" },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_U ".slice/crio-conmon-" CRIO_ID
	  ".scope", NONE, "cri-o", "", "crio-conmon-" CRIO_ID ".scope", POD_D, "", "crio-conmon-" CRIO_ID ".scope",
	  "cgroup:crio-conmon-" CRIO_ID ".scope" },
	/* Podman */
	{ "/machine.slice/libpod-" H64 ".scope", CTR, "podman", H64, "", "", "", "libpod-" H64 ".scope",
	  "podman:0123456789ab" },
	{ "/machine.slice/libpod-" H64 ".scope/container", CTR, "podman", H64, "", "", "", "libpod-" H64 ".scope",
	  "podman:0123456789ab" },
	{ "/machine.slice/libpod-conmon-" H64 ".scope", NONE, "podman", "", "libpod-conmon-" H64 ".scope", "", "",
	  "libpod-conmon-" H64 ".scope", "cgroup:libpod-conmon-" H64 ".scope" },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" H64 ".scope", CTR, "podman", H64, "", "",
	  "", "libpod-" H64 ".scope", "podman:0123456789ab" },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/podman-4242.scope/" H64, CTR, "podman", H64, "",
	  "", "", "podman-4242.scope", "podman:0123456789ab" },
	{ "/user.slice/user-1000.slice/user@1000.service", NONE, "systemd", "", "user@1000.service", "", "",
	  "user@1000.service", "cgroup:user@1000.service" },
	/* LXC */
	{ "/lxc.payload.web01", CTR, "lxc", "web01", "web01", "", "", "", "lxc:web01" },
	{ "/lxc.payload.focal/system.slice/nginx.service", CTR, "lxc", "focal", "focal", "", "", "nginx.service",
	  "lxc:focal" },
	{ "/lxc.payload/il02", CTR, "lxc", "il02", "il02", "", "", "", "lxc:il02" },
	{ "/lxc/il02/init.scope", CTR, "lxc", "il02", "il02", "", "", "init.scope", "lxc:il02" },
	{ "/lxc.monitor.web01", NONE, "lxc", "", "lxc.monitor.web01", "", "", "", "cgroup:lxc.monitor.web01" },
	{ "/lxc.payload", NONE, "lxc", "", "lxc.payload", "", "", "", "cgroup:lxc.payload" },
	/* Slurm cgroup/v2 */
	{ "/system.slice/slurmstepd.scope/job_1234/step_0", SLURM, "slurm", "", "1234/step_0", "", "1234",
	  "slurmstepd.scope", "slurm:1234/step_0" },
	{ "/system.slice/slurmstepd.scope/job_1234/step_0/user/task_0", SLURM, "slurm", "", "1234/step_0", "",
	  "1234", "slurmstepd.scope", "slurm:1234/step_0" },
	{ "/system.slice/slurmstepd.scope/job_1234/step_0/slurm", SLURM, "slurm", "", "1234/step_0", "", "1234",
	  "slurmstepd.scope", "slurm:1234/step_0" },
	{ "/system.slice/slurmstepd.scope/job_77/step_batch", SLURM, "slurm", "", "77/step_batch", "", "77",
	  "slurmstepd.scope", "slurm:77/step_batch" },
	{ "/system.slice/slurmstepd.scope/job_77/step_extern/user", SLURM, "slurm", "", "77/step_extern", "",
	  "77", "slurmstepd.scope", "slurm:77/step_extern" },
	{ "/system.slice/node3_slurmstepd.scope/job_9/step_interactive", SLURM, "slurm", "", "9/step_interactive", "",
	  "9", "node3_slurmstepd.scope", "slurm:9/step_interactive" },
	{ "/system.slice/slurmstepd.scope/job_1234", NONE, "slurm", "", "job_1234", "", "1234", "slurmstepd.scope",
	  "cgroup:job_1234" },
	{ "/system.slice/slurmstepd.scope", NONE, "slurm", "", "slurmstepd.scope", "", "", "slurmstepd.scope",
	  "cgroup:slurmstepd.scope" },
	{ "/system.slice/slurmstepd.scope/system", NONE, "slurm", "", "system", "", "", "slurmstepd.scope",
	  "cgroup:system" },
	{ "/system.slice/slurmstepd.scope/job_12a/step_0", OTHER, "", "", "step_0", "", "", "slurmstepd.scope",
	  "cgroup:step_0" },
	/* Slurm cgroup/v1: the same step in every controller's tree */
	{ "/slurm/uid_1000/job_1234/step_0", SLURM, "slurm", "", "1234/step_0", "", "1234", "",
	  "slurm:1234/step_0" },
	{ "/slurm/uid_1000/job_1234/step_batch/task_0", SLURM, "slurm", "", "1234/step_batch", "", "1234", "",
	  "slurm:1234/step_batch" },
	{ "/slurm_node3/uid_0/job_9/step_extern", SLURM, "slurm", "", "9/step_extern", "", "9", "",
	  "slurm:9/step_extern" },
	{ "/slurm/uid_1000/job_1234", NONE, "slurm", "", "job_1234", "", "1234", "", "cgroup:job_1234" },
	{ "/slurm/uid_1000", NONE, "slurm", "", "uid_1000", "", "", "", "cgroup:uid_1000" },
	/* systemd units */
	{ "/system.slice/nginx.service", SVC, "systemd", "", "nginx.service", "", "", "nginx.service",
	  "systemd:nginx.service" },
	{ "/user.slice/user-1000.slice/session-3.scope", SCOPE, "systemd", "", "session-3.scope", "", "",
	  "session-3.scope", "systemd:session-3.scope" },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-x.scope", SCOPE, "systemd", "",
	  "app-gnome-x.scope", "", "", "app-gnome-x.scope", "systemd:app-gnome-x.scope" },
	{ "/init.scope", SCOPE, "systemd", "", "init.scope", "", "", "init.scope", "systemd:init.scope" },
	{ "/system.slice", NONE, "systemd", "", "system.slice", "", "", "system.slice", "cgroup:system.slice" },
	{ "/machine.slice", NONE, "systemd", "", "machine.slice", "", "", "machine.slice", "cgroup:machine.slice" },
	{ "/system.slice/run-x.mount", OTHER, "systemd", "", "run-x.mount", "", "", "run-x.mount",
	  "cgroup:run-x.mount" },
	/* negatives: not an id, so the generic rules apply */
	{ "/system.slice/docker-" H63 ".scope", SCOPE, "systemd", "", "docker-" H63 ".scope", "", "",
	  "docker-" H63 ".scope", "systemd:docker-" H63 ".scope" },
	{ "/docker/" H63, OTHER, "", "", H63, "", "", "", "cgroup:" H63 },
	{ "/docker/" H64 "0", OTHER, "", "", H64 "0", "", "", "", "cgroup:" H64 "0" },
	{ "/docker/" H64U, OTHER, "", "", H64U, "", "", "", "cgroup:" H64U },
	{ "/system.slice/docker-" H64U ".scope", SCOPE, "systemd", "", "docker-" H64U ".scope", "", "",
	  "docker-" H64U ".scope", "systemd:docker-" H64U ".scope" },
	{ "/rigwatch-test/leaf", OTHER, "", "", "leaf", "", "", "", "cgroup:leaf" },
	{ "", NONE, "", "", "", "", "", "", "cgroup:/" },
	{ "/", NONE, "", "", "", "", "", "", "cgroup:/" },
	{ "//system.slice//nginx.service//", SVC, "systemd", "", "nginx.service", "", "", "nginx.service",
	  "systemd:nginx.service" },
	{ "/odd\x01na\x7fme\n", OTHER, "", "", "odd?na?me?", "", "", "", "cgroup:odd?na?me?" },
	{ "/.service", OTHER, "", "", ".service", "", "", "", "cgroup:.service" },
	{ "/a/lxc", NONE, "lxc", "", "lxc", "", "", "", "cgroup:lxc" },
};

static void check_row(const struct row *r, unsigned i)
{
	struct rw_identity id;
	char label[256];

	memset(&id, 0x5a, sizeof id);   /* garbage in: every field must be written */
	rw_identity_from_path(r->path, &id);
	rw_identity_label(&id, label, sizeof label);
#define F(got, want)                                                                                         \
	do {                                                                                                 \
		if (strcmp((got), (want)) != 0)                                                              \
			fprintf(stderr, "row %u %s: " #got " = \"%s\", want \"%s\"\n", i, r->path, (got), (want)); \
		CU_ASSERT_STRING_EQUAL((got), (want));                                                       \
	} while (0)
	if (id.kind != r->kind)
		fprintf(stderr, "row %u %s: kind %s, want %s\n", i, r->path, rw_workload_kind_name(id.kind),
		        rw_workload_kind_name(r->kind));
	CU_ASSERT_EQUAL(id.kind, r->kind);
	F(id.runtime, r->runtime);
	F(id.id, r->id);
	F(id.name, r->name);
	F(id.pod_uid, r->pod_uid);
	F(id.slurm_job, r->slurm_job);
	F(id.unit, r->unit);
	F(label, r->label);
#undef F
}

static void test_path_table(void)
{
	CU_ASSERT_TRUE(sizeof rows / sizeof rows[0] >= 30);
	for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++)
		check_row(&rows[i], i);
}

/* Slurm's job, step and uid are separate fields, in both plugin layouts. */
static void test_slurm_fields(void)
{
	static const struct {
		const char *path;
		enum rw_workload_kind kind;
		const char *job, *step, *uid, *name;
	} t[] = {
		{ "/slurm/uid_1000/job_4242/step_0", SLURM, "4242", "0", "1000", "4242/step_0" },
		{ "/slurm/uid_1000/job_4242/step_0/task_1", SLURM, "4242", "0", "1000", "4242/step_0" },
		{ "/slurm/uid_0/job_7/step_batch", SLURM, "7", "batch", "0", "7/step_batch" },
		{ "/slurm_node3/uid_1001/job_8/step_extern", SLURM, "8", "extern", "1001", "8/step_extern" },
		{ "/slurm/uid_1000/job_4242", NONE, "4242", "", "1000", "job_4242" },
		{ "/slurm/uid_1000", NONE, "", "", "1000", "uid_1000" },
		{ "/slurm", NONE, "", "", "", "slurm" },
		{ "/system.slice/slurmstepd.scope/job_55/step_3", SLURM, "55", "3", "", "55/step_3" },
		/* not the outermost component, or not a uid: not Slurm's v1 tree */
		{ "/x/slurm/uid_1000/job_1/step_0", OTHER, "", "", "", "step_0" },
		{ "/slurm/uid_x/job_1/step_0", OTHER, "", "", "", "step_0" },
		{ "/slurm/uid_123456789012/job_1/step_0", OTHER, "", "", "", "step_0" },
	};
	for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct rw_identity id;
		memset(&id, 0x5a, sizeof id);
		rw_identity_from_path(t[i].path, &id);
		if (id.kind != t[i].kind || strcmp(id.slurm_job, t[i].job) || strcmp(id.slurm_step, t[i].step) ||
		    strcmp(id.slurm_uid, t[i].uid) || strcmp(id.name, t[i].name))
			fprintf(stderr, "%s: kind %s job \"%s\" step \"%s\" uid \"%s\" name \"%s\"\n", t[i].path,
				rw_workload_kind_name(id.kind), id.slurm_job, id.slurm_step, id.slurm_uid, id.name);
		CU_ASSERT_EQUAL(id.kind, t[i].kind);
		CU_ASSERT_STRING_EQUAL(id.slurm_job, t[i].job);
		CU_ASSERT_STRING_EQUAL(id.slurm_step, t[i].step);
		CU_ASSERT_STRING_EQUAL(id.slurm_uid, t[i].uid);
		CU_ASSERT_STRING_EQUAL(id.name, t[i].name);
		/* names come from the names module, never from the path */
		CU_ASSERT_STRING_EQUAL(id.slurm_user, "");
		CU_ASSERT_STRING_EQUAL(id.k8s_ns, "");
		CU_ASSERT_STRING_EQUAL(id.k8s_pod, "");
		CU_ASSERT_STRING_EQUAL(id.k8s_container, "");
	}
}

static void test_null_path(void)
{
	struct rw_identity id;

	memset(&id, 0x5a, sizeof id);
	rw_identity_from_path(NULL, &id);
	CU_ASSERT_EQUAL(id.kind, RW_KIND_NONE);
	CU_ASSERT_STRING_EQUAL(id.name, "");
}

/* Field must be NUL-terminated within its size, and hold a prefix of want (truncation, never overflow). */
static void assert_bounded_prefix(const char *field, size_t cap, const char *want)
{
	size_t n = strnlen(field, cap);
	CU_ASSERT_TRUE(n < cap);
	CU_ASSERT_TRUE(n > 0);
	CU_ASSERT_EQUAL(strncmp(field, want, n), 0);
}

static void test_long_paths(void)
{
	static char path[4200], comp[4000];
	struct rw_identity id;
	char label[64];

	/* one 3990-byte component: name truncated to its field */
	memset(comp, 'x', 3990);
	comp[3990] = '\0';
	snprintf(path, sizeof path, "/a/%s", comp);
	rw_identity_from_path(path, &id);
	CU_ASSERT_EQUAL(id.kind, RW_KIND_OTHER);
	assert_bounded_prefix(id.name, sizeof id.name, comp);
	CU_ASSERT_EQUAL(strlen(id.name), sizeof id.name - 1);

	/* long unit name: unit and name truncated, label truncated to the caller's buffer */
	memset(comp, 'u', 3990);
	memcpy(comp + 3990 - strlen(".service"), ".service", strlen(".service") + 1);
	snprintf(path, sizeof path, "/system.slice/%s", comp);
	rw_identity_from_path(path, &id);
	CU_ASSERT_EQUAL(id.kind, RW_KIND_SERVICE);
	assert_bounded_prefix(id.unit, sizeof id.unit, comp);
	rw_identity_label(&id, label, sizeof label);
	CU_ASSERT_EQUAL(strlen(label), sizeof label - 1);
	CU_ASSERT_EQUAL(strncmp(label, "systemd:uuu", 11), 0);

	/* 4000 chars of 2-byte components, container at the very end */
	size_t off = 0;
	while (off < 4000 - 80) {
		memcpy(path + off, "/a", 2);
		off += 2;
	}
	snprintf(path + off, sizeof path - off, "/docker-%s.scope", H64);
	rw_identity_from_path(path, &id);
	CU_ASSERT_EQUAL(id.kind, RW_KIND_CONTAINER);
	CU_ASSERT_STRING_EQUAL(id.id, H64);

	/* huge LXC name and Slurm job number: bounded copies */
	memset(comp, '7', 3000);
	comp[3000] = '\0';
	snprintf(path, sizeof path, "/lxc.payload.%s", comp);
	rw_identity_from_path(path, &id);
	CU_ASSERT_EQUAL(id.kind, RW_KIND_CONTAINER);
	assert_bounded_prefix(id.id, sizeof id.id, comp);
	assert_bounded_prefix(id.name, sizeof id.name, comp);
	snprintf(path, sizeof path, "/system.slice/slurmstepd.scope/job_%s/step_0/user", comp);
	rw_identity_from_path(path, &id);
	CU_ASSERT_EQUAL(id.kind, RW_KIND_SLURM);
	assert_bounded_prefix(id.slurm_job, sizeof id.slurm_job, comp);
}

/* Truncation must not cut a UTF-8 character in half. */
static void test_utf8_truncation(void)
{
	char path[512];
	struct rw_identity id;
	size_t off = 0;

	path[off++] = '/';
	while (off < 400) {
		memcpy(path + off, "\xc3\xa9", 2);   /* é */
		off += 2;
	}
	path[off] = '\0';
	rw_identity_from_path(path, &id);
	size_t n = strlen(id.name);
	CU_ASSERT_TRUE(n < sizeof id.name);
	/* 127 bytes would end on a lead byte: the copy backs off to 126 */
	CU_ASSERT_EQUAL(n, sizeof id.name - 2);
	/* ends after a whole character: last byte is a continuation byte preceded by a lead byte */
	CU_ASSERT_EQUAL((unsigned char)id.name[n - 1], 0xa9);
	CU_ASSERT_EQUAL((unsigned char)id.name[n - 2], 0xc3);
}

static void test_label_small_buffers(void)
{
	struct rw_identity id;
	char buf[8];

	rw_identity_from_path("/system.slice/docker-" H64 ".scope", &id);
	memset(buf, 'Z', sizeof buf);
	rw_identity_label(&id, buf, 1);
	CU_ASSERT_EQUAL(buf[0], '\0');
	CU_ASSERT_EQUAL(buf[1], 'Z');
	rw_identity_label(&id, buf, 0);
	CU_ASSERT_EQUAL(buf[0], '\0');
	CU_ASSERT_EQUAL(buf[1], 'Z');
	rw_identity_label(&id, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "docker:");
}

static void test_kind_names(void)
{
	CU_ASSERT_STRING_EQUAL(rw_workload_kind_name(RW_KIND_NONE), "none");
	CU_ASSERT_STRING_EQUAL(rw_workload_kind_name(RW_KIND_CONTAINER), "container");
	CU_ASSERT_STRING_EQUAL(rw_workload_kind_name(RW_KIND_SLURM), "slurm");
	CU_ASSERT_STRING_EQUAL(rw_workload_kind_name(RW_KIND_SERVICE), "service");
	CU_ASSERT_STRING_EQUAL(rw_workload_kind_name(RW_KIND_SCOPE), "scope");
	CU_ASSERT_STRING_EQUAL(rw_workload_kind_name(RW_KIND_OTHER), "other");
	CU_ASSERT_STRING_EQUAL(rw_workload_kind_name((enum rw_workload_kind)42), "unknown");
}

/* Every byte value in every position of a short path: no crash, every field terminated (ASan checks reads). */
static void test_all_bytes(void)
{
	char path[8];
	struct rw_identity id;
	char label[32];

	for (unsigned pos = 0; pos < 6; pos++) {
		for (unsigned b = 1; b < 256; b++) {
			memcpy(path, "/ab/cd", 7);
			path[pos] = (char)b;
			rw_identity_from_path(path, &id);
			rw_identity_label(&id, label, sizeof label);
			CU_ASSERT_TRUE(strnlen(id.name, sizeof id.name) < sizeof id.name);
			CU_ASSERT_TRUE(strlen(label) < sizeof label);
			for (const char *q = id.name; *q; q++)
				CU_ASSERT_TRUE((unsigned char)*q >= 0x20 && *q != 0x7f);
		}
	}
}

static const rw_test tests[] = {
	RW_TEST(test_path_table),
	RW_TEST(test_slurm_fields),
	RW_TEST(test_null_path),
	RW_TEST(test_long_paths),
	RW_TEST(test_utf8_truncation),
	RW_TEST(test_label_small_buffers),
	RW_TEST(test_kind_names),
	RW_TEST(test_all_bytes),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("identity", tests);
}
