/* fuzz_identity: cgroup path to workload identity (rw_identity_from_path, rw_identity_label). Cgroup names are
 * chosen by whoever creates the cgroup (a container runtime, a user with a delegated subtree), so they are
 * outside input. Properties: every field is NUL-terminated and free of control bytes (they reach JSON, labels
 * and logs); the label fits and is terminated; the same path gives the same identity. */
#include "fuzz.h"
#include "rigwatch/identity.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void check_field(const char *f, size_t cap)
{
	const char *end = memchr(f, '\0', cap);
	FUZZ_CHECK(end != NULL);
	for (const char *p = f; p < end; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rw_identity a, b;
	char label[64], small[8];
	char *path = fuzz_cstr(data, size);

	rw_identity_from_path(path, &a);
	FUZZ_CHECK(a.kind <= RW_KIND_OTHER);
	FUZZ_CHECK(rw_workload_kind_name(a.kind) != NULL);
	check_field(a.runtime, sizeof a.runtime);
	check_field(a.id, sizeof a.id);
	check_field(a.name, sizeof a.name);
	check_field(a.pod_uid, sizeof a.pod_uid);
	check_field(a.slurm_job, sizeof a.slurm_job);
	check_field(a.unit, sizeof a.unit);

	memset(label, 0x7f, sizeof label);
	rw_identity_label(&a, label, sizeof label);
	FUZZ_CHECK(FUZZ_TERMINATED(label));
	memset(small, 0x7f, sizeof small);
	rw_identity_label(&a, small, sizeof small);
	FUZZ_CHECK(FUZZ_TERMINATED(small));

	rw_identity_from_path(path, &b);
	FUZZ_CHECK(a.kind == b.kind && !strcmp(a.id, b.id) && !strcmp(a.name, b.name) && !strcmp(a.unit, b.unit));
	free(path);
	return 0;
}
