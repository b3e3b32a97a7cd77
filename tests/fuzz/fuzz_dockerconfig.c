/* fuzz_dockerconfig: Docker's config.v2.json (rw_docker_config_parse) and the JSON reader under it. The file is
 * written by dockerd, but its contents (names, labels, image references) come from whoever runs containers, and a
 * crash mid-write leaves a torn file. Properties: an error sets the message and leaves no names; on success every
 * string field is NUL-terminated and free of control bytes (they reach JSON, labels and logs), labels <= 4; walking
 * any valid document and copying every string into a small buffer stays in bounds and terminated. */
#include "fuzz.h"
#include "rigwatch/containers.h"
#include "rigwatch/jsonread.h"

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
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void walk(const struct rw_json *v, unsigned depth)
{
	char small[5];
	FUZZ_CHECK(depth <= RW_JSON_MAX_DEPTH + 1);
	if (v->type == RW_JSON_STRING) {
		memset(small, 0x7f, sizeof small);
		FUZZ_CHECK(rw_json_string(v, small, sizeof small) >= 0);
		check_field(small, sizeof small);
		return;
	}
	if (v->type != RW_JSON_OBJECT && v->type != RW_JSON_ARRAY)
		return;
	struct rw_json k, e;
	size_t cur = 0;
	while (rw_json_next(v, &cur, &k, &e) == 1) {
		FUZZ_CHECK(e.type != RW_JSON_NONE);
		walk(&e, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rw_container_meta m;
	struct rw_glob_list labels = { .n = 1 };
	char err[256];
	strcpy(labels.items[0], "*");

	err[0] = '\0';
	if (rw_docker_config_parse((const char *)data, size, &labels, &m, err, sizeof err) < 0) {
		FUZZ_CHECK(err[0] != '\0' && !m.have);
	} else {
		FUZZ_CHECK(m.have && m.n_labels <= RW_CONTAINER_LABELS);
		check_field(m.name, sizeof m.name);
		check_field(m.short_id, sizeof m.short_id);
		check_field(m.image, sizeof m.image);
		check_field(m.image_repository, sizeof m.image_repository);
		check_field(m.image_tag, sizeof m.image_tag);
		check_field(m.image_id, sizeof m.image_id);
		for (unsigned i = 0; i < m.n_labels; i++) {
			check_field(m.labels[i].key, sizeof m.labels[i].key);
			check_field(m.labels[i].value, sizeof m.labels[i].value);
		}
	}
	struct rw_json root;
	if (rw_json_parse((const char *)data, size, &root, err, sizeof err) == 0)
		walk(&root, 0);
	else
		FUZZ_CHECK(strncmp(err, "offset ", 7) == 0);
	return 0;
}
