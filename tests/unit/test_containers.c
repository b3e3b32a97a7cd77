/* containers + jsonread: Docker's config.v2.json as dockerd 20.10 wrote it (tests/data/docker, from a private
 * dockerd on this machine, paths scrubbed), malformed variants, image references, times, and the origin of a
 * busy process among real processes of this suite. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "rigwatch/alerts.h"
#include "rigwatch/containers.h"
#include "rigwatch/exposition.h"
#include "rigwatch/jsonread.h"
#include "report_fixture.h"
#include "rw_test.h"

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/docker/%s", rw_test_data_dir(), name);
	FILE *f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	static char buf[65536];
	*len = fread(buf, 1, sizeof buf - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void test_json_valid_and_invalid(void)
{
	struct rw_json root, v;
	char err[128], s[64];
	const char *good = " {\"a\": [1, -2.5e3, true, null, \"x\\u00e9\\ud83d\\ude00\\n\"], \"b\": {\"c\": 42}} ";
	CU_ASSERT_EQUAL_FATAL(rw_json_parse(good, strlen(good), &root, err, sizeof err), 0);
	CU_ASSERT_EQUAL(root.type, RW_JSON_OBJECT);
	int64_t i;
	CU_ASSERT_EQUAL(rw_json_path(&root, (const char *const[]){ "b", "c" }, 2, &v), 0);
	CU_ASSERT_EQUAL(rw_json_int(&v, &i), 0);
	CU_ASSERT_EQUAL(i, 42);
	CU_ASSERT_EQUAL(rw_json_member(&root, "a", &v), 0);
	CU_ASSERT_EQUAL(v.type, RW_JSON_ARRAY);
	struct rw_json el;
	size_t cur = 0;
	unsigned n = 0;
	enum rw_json_type want[] = { RW_JSON_NUMBER, RW_JSON_NUMBER, RW_JSON_BOOL, RW_JSON_NULL, RW_JSON_STRING };
	while (rw_json_next(&v, &cur, NULL, &el) == 1) {
		CU_ASSERT_EQUAL(el.type, want[n]);
		n++;
	}
	CU_ASSERT_EQUAL(n, 5);
	/* escapes decoded to UTF-8; a newline is a control character: '?' */
	CU_ASSERT_EQUAL(rw_json_string(&el, s, sizeof s), 8);
	CU_ASSERT_STRING_EQUAL(s, "x\xc3\xa9\xf0\x9f\x98\x80?");
	/* truncation never splits a character: "x" + 2-byte é fits in 4 bytes, the 4-byte emoji does not */
	CU_ASSERT_EQUAL(rw_json_string(&el, s, 5), 8);
	CU_ASSERT_STRING_EQUAL(s, "x\xc3\xa9");
	CU_ASSERT_EQUAL(rw_json_member(&root, "zz", &v), -ENOENT);
	CU_ASSERT_EQUAL(rw_json_int(&el, &i), -EINVAL);

	const char *bad[] = { "", "{", "{\"a\" 1}", "{\"a\":1,}", "[1 2]", "\"abc", "tru", "01", "1.", "-",
			      "{\"a\":\"\\x\"}", "{\"a\":\"\x01\"}", "{} {}", "[\"\\u12g4\"]" };
	for (unsigned k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		CU_ASSERT_EQUAL(rw_json_parse(bad[k], strlen(bad[k]), &root, err, sizeof err), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "offset "));
	}
	/* nesting is bounded */
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	CU_ASSERT_EQUAL(rw_json_parse(deep, 200, &root, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "deep"));
	CU_ASSERT_EQUAL(rw_json_parse(deep + 40, 120, &root, err, sizeof err), 0);
}

static void test_docker_fixture_names(void)
{
	size_t len;
	char err[256];
	struct rw_container_meta m;
	struct rw_glob_list labels = { .n = 1 };
	strcpy(labels.items[0], "com.docker.compose.*");

	char *text = slurp("edge.config.v2.json", &len);
	CU_ASSERT_EQUAL_FATAL(rw_docker_config_parse(text, len, &labels, &m, err, sizeof err), 0);
	CU_ASSERT_TRUE(m.have);
	CU_ASSERT_STRING_EQUAL(m.engine, "docker");
	CU_ASSERT_STRING_EQUAL(m.name, "edge");
	CU_ASSERT_STRING_EQUAL(m.short_id, "274c16388c82");
	CU_ASSERT_STRING_EQUAL(m.image, "acme/nginx:1.25");
	CU_ASSERT_STRING_EQUAL(m.image_repository, "acme/nginx");
	CU_ASSERT_STRING_EQUAL(m.image_tag, "1.25");
	CU_ASSERT_STRING_EQUAL(m.image_id, "sha256:878aa2fa74802b8b134db561a3a13e09f9899bd0caeefaf6221976906dd22646");
	CU_ASSERT_TRUE(m.running);
	CU_ASSERT_FALSE(m.paused);
	CU_ASSERT_EQUAL(m.pid, 7305);
	/* 2026-11-30T06:42:59.596327682Z */
	CU_ASSERT_EQUAL(m.started_ns, 1796020979ull * 1000000000ull + 596327682ull);
	CU_ASSERT_EQUAL(m.n_labels, 1);
	CU_ASSERT_STRING_EQUAL(m.labels[0].key, "com.docker.compose.project");
	CU_ASSERT_STRING_EQUAL(m.labels[0].value, "shop");

	text = slurp("web.config.v2.json", &len);
	strcpy(labels.items[labels.n++], "tier");
	CU_ASSERT_EQUAL_FATAL(rw_docker_config_parse(text, len, &labels, &m, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(m.name, "web");
	CU_ASSERT_STRING_EQUAL(m.image, "acme/web:2.1");
	CU_ASSERT_EQUAL(m.n_labels, 2);
	CU_ASSERT_STRING_EQUAL(m.labels[1].key, "tier");
	CU_ASSERT_STRING_EQUAL(m.labels[1].value, "front");
	/* no label globs: no labels */
	CU_ASSERT_EQUAL_FATAL(rw_docker_config_parse(text, len, NULL, &m, err, sizeof err), 0);
	CU_ASSERT_EQUAL(m.n_labels, 0);
}

/* A malformed or foreign file costs the names and says what is wrong; nothing half-filled. */
static void test_docker_fixture_malformed(void)
{
	size_t len;
	char err[256], *copy;
	struct rw_container_meta m;
	char *text = slurp("edge.config.v2.json", &len);

	CU_ASSERT_EQUAL(rw_docker_config_parse(text, len / 2, NULL, &m, err, sizeof err), -EINVAL);
	CU_ASSERT_FALSE(m.have);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not JSON"));
	CU_ASSERT_EQUAL(rw_docker_config_parse("[1]", 3, NULL, &m, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "object"));

	copy = strdup(text);
	char *id = strstr(copy, "\"ID\":\"274c");
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	id[7] = 'X'; /* not hex */
	CU_ASSERT_EQUAL(rw_docker_config_parse(copy, len, NULL, &m, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "field ID"));
	free(copy);

	copy = strdup(text);
	char *st = strstr(copy, "\"StartedAt\":\"2026-");
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	st[17] = 'x';
	CU_ASSERT_EQUAL(rw_docker_config_parse(copy, len, NULL, &m, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "StartedAt"));
	CU_ASSERT_FALSE(m.have);
	free(copy);

	/* a label key too long to show whole is left out, and a hostile value is sanitized */
	const char *j = "{\"ID\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"Name\":\"/a\\u001b[31m\","
			"\"Config\":{\"Image\":\"registry:5000/x\",\"Labels\":{\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":\"1\","
			"\"k\":\"v\\nw\"}},\"State\":{\"Running\":false,\"Pid\":0,\"StartedAt\":\"0001-01-01T00:00:00Z\"}}";
	struct rw_glob_list all = { .n = 1 };
	strcpy(all.items[0], "*");
	CU_ASSERT_EQUAL_FATAL(rw_docker_config_parse(j, strlen(j), &all, &m, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(m.name, "a?[31m");
	CU_ASSERT_STRING_EQUAL(m.image_repository, "registry:5000/x");
	CU_ASSERT_STRING_EQUAL(m.image_tag, "latest");
	CU_ASSERT_EQUAL(m.started_ns, 0);
	CU_ASSERT_EQUAL(m.pid, 0);
	CU_ASSERT_EQUAL(m.n_labels, 1);
	CU_ASSERT_STRING_EQUAL(m.labels[0].value, "v?w");
}

/* The on-disk layout: <root>/containers/<id>/config.v2.json; a missing one is -ENOENT. */
static void test_docker_meta_read(void)
{
	char root[] = "/tmp/rwtest_containers.XXXXXX", dir[256], path[512], err[600];
	const char *id = "274c16388c822fea9bb7c9f63901fadaef2c37528bb0ed151a325ef36dce93ae";
	size_t len;
	struct rw_container_meta m;
	uint64_t mt;
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
	snprintf(dir, sizeof dir, "%s/containers", root);
	mkdir(dir, 0700);
	snprintf(dir, sizeof dir, "%s/containers/%s", root, id);
	mkdir(dir, 0700);
	CU_ASSERT_EQUAL(rw_docker_meta_read(root, id, NULL, &m, &mt, err, sizeof err), -ENOENT);
	CU_ASSERT_EQUAL(rw_docker_meta_mtime(root, id), 0);
	char *text = slurp("edge.config.v2.json", &len);
	rw_docker_config_path(root, id, path, sizeof path);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite(text, 1, len, f);
	fclose(f);
	CU_ASSERT_EQUAL(rw_docker_meta_read(root, id, NULL, &m, &mt, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(m.name, "edge");
	CU_ASSERT_NOT_EQUAL(mt, 0);
	CU_ASSERT_EQUAL(mt, rw_docker_meta_mtime(root, id));
	/* truncated by a crash mid-write: the file is named in the message */
	CU_ASSERT_EQUAL(truncate(path, 100), 0);
	CU_ASSERT_EQUAL(rw_docker_meta_read(root, id, NULL, &m, &mt, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	CU_ASSERT_FALSE(m.have);
	/* not an id: never a path outside containers/ */
	CU_ASSERT_EQUAL(rw_docker_meta_read(root, "../../etc", NULL, &m, &mt, err, sizeof err), -ENOENT);
	unlink(path);
	rmdir(dir);
	snprintf(dir, sizeof dir, "%s/containers", root);
	rmdir(dir);
	rmdir(root);
}

/* Podman 4.3's containers/storage list (tests/data/docker/podman.containers.json, from `podman create` and `podman
 * run` on this machine): names and image from it, nothing about state. */
static void test_podman_fixture(void)
{
	size_t len;
	char err[256];
	struct rw_container_meta m;
	char *text = slurp("podman.containers.json", &len);

	CU_ASSERT_EQUAL_FATAL(rw_podman_storage_parse(text, len,
		"645fa88ae7935889b673d77ff4eacd29272438ea2c0bff79cf0454854af6be79", &m, err, sizeof err), 0);
	CU_ASSERT_TRUE(m.have);
	CU_ASSERT_FALSE(m.have_state);
	CU_ASSERT_STRING_EQUAL(m.engine, "podman");
	CU_ASSERT_STRING_EQUAL(m.name, "edge");
	CU_ASSERT_STRING_EQUAL(m.short_id, "645fa88ae793");
	CU_ASSERT_STRING_EQUAL(m.image, "localhost/acme/web:2.1");
	CU_ASSERT_STRING_EQUAL(m.image_repository, "localhost/acme/web");
	CU_ASSERT_STRING_EQUAL(m.image_tag, "2.1");
	CU_ASSERT_STRING_EQUAL(m.image_id, "sha256:3117dd652feed0dc4c76df28389fa179daa0cb0ae44b1fb05526202e81aaf537");
	CU_ASSERT_EQUAL_FATAL(rw_podman_storage_parse(text, len,
		"0d4c512ff228eb57540904fb1fccd2cb4b5d116138486067f8fc59b466afd5bf", &m, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(m.name, "web");
	/* not in the list: no names, no error */
	CU_ASSERT_EQUAL(rw_podman_storage_parse(text, len,
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &m, err, sizeof err), -ENOENT);
	CU_ASSERT_FALSE(m.have);
	CU_ASSERT_EQUAL(rw_podman_storage_parse(text, len / 3, "0d4c512ff228eb57540904fb1fccd2cb4b5d116138486067f8fc59b466afd5bf",
						&m, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not JSON"));
	CU_ASSERT_EQUAL(rw_podman_storage_parse("{}", 2, "x", &m, err, sizeof err), -EINVAL);

	/* the on-disk layout: <root>/overlay-containers/containers.json */
	char root[] = "/tmp/rwtest_podman.XXXXXX", dir[256], path[512];
	uint64_t mt;
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
	CU_ASSERT_EQUAL(rw_podman_meta_read(root, "645fa88ae7935889b673d77ff4eacd29272438ea2c0bff79cf0454854af6be79", &m,
					    &mt, err, sizeof err), -ENOENT);
	snprintf(dir, sizeof dir, "%s/overlay-containers", root);
	mkdir(dir, 0700);
	snprintf(path, sizeof path, "%s/containers.json", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite(text, 1, len, f);
	fclose(f);
	CU_ASSERT_EQUAL(rw_podman_meta_read(root, "645fa88ae7935889b673d77ff4eacd29272438ea2c0bff79cf0454854af6be79", &m,
					    &mt, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(m.name, "edge");
	CU_ASSERT_EQUAL(mt, rw_podman_meta_mtime(root));
	CU_ASSERT_NOT_EQUAL(mt, 0);
	unlink(path);
	rmdir(dir);
	rmdir(root);
}

static void test_image_ref_and_time(void)
{
	char repo[128], tag[64];
	struct {
		const char *ref, *repo, *tag;
	} c[] = {
		{ "acme/web:2.1", "acme/web", "2.1" },
		{ "nginx", "nginx", "latest" },
		{ "registry:5000/team/app", "registry:5000/team/app", "latest" },
		{ "registry:5000/team/app:v3", "registry:5000/team/app", "v3" },
		{ "app@sha256:0123", "app", "" },
	};
	for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
		rw_image_ref_split(c[i].ref, repo, sizeof repo, tag, sizeof tag);
		CU_ASSERT_STRING_EQUAL(repo, c[i].repo);
		CU_ASSERT_STRING_EQUAL(tag, c[i].tag);
	}
	uint64_t ns;
	CU_ASSERT_EQUAL(rw_parse_rfc3339_ns("1970-01-01T00:00:01Z", &ns), 0);
	CU_ASSERT_EQUAL(ns, 1000000000ull);
	CU_ASSERT_EQUAL(rw_parse_rfc3339_ns("2026-11-30T07:42:59.5+01:00", &ns), 0);
	CU_ASSERT_EQUAL(ns, 1796020979500000000ull);
	CU_ASSERT_EQUAL(rw_parse_rfc3339_ns("0001-01-01T00:00:00Z", &ns), 0);
	CU_ASSERT_EQUAL(ns, 0);
	CU_ASSERT_EQUAL(rw_parse_rfc3339_ns("2026-11-30 07:42:59", &ns), -EINVAL);
	CU_ASSERT_EQUAL(rw_parse_rfc3339_ns("2026-13-30T07:42:59Z", &ns), -EINVAL);
	CU_ASSERT_EQUAL(rw_parse_rfc3339_ns("2026-11-30T07:42:59Zjunk", &ns), -EINVAL);
}

static uint64_t cpu_ticks(pid_t pid)
{
	struct rw_proc_info pi = { 0 };
	return rw_test_proc_stat(pid, &pi) == 0 ? pi.utime + pi.stime : 0;
}

/* Real processes: this suite (as the "first process") and a busy child. The child's place relative to the first
 * process decides how it started. */
static void test_origin_real_processes(void)
{
	pid_t child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		rw_test_child_detach();
		for (volatile unsigned long x = 0;; x++)
			;
	}
	/* busy until it has used over twice the CPU of this suite (under valgrind too), so that the suite is not
	 * among the busy candidates: bounded, never a duration */
	for (int i = 0; i < 4800 && cpu_ticks(child) <= 2 * cpu_ticks(getpid()) + 10; i++)
		usleep(50000);
	CU_ASSERT_FATAL(cpu_ticks(child) > 2 * cpu_ticks(getpid()));

	char procs[] = "/tmp/rwtest_procs.XXXXXX";
	int fd = mkstemp(procs);
	CU_ASSERT_FATAL(fd >= 0);
	dprintf(fd, "%d\n%d\n", (int)getpid(), (int)child);
	close(fd);

	struct rw_container_origin o;
	char d[400];
	/* the child descends from the first process: started by the running service */
	CU_ASSERT_EQUAL(rw_container_origin_read("/proc", procs, getpid(), &o), 0);
	CU_ASSERT_TRUE(o.have);
	CU_ASSERT_EQUAL(o.chain[0].pid, child);
	CU_ASSERT_EQUAL(o.chain[0].ppid, getpid());
	CU_ASSERT_EQUAL(o.chain[0].uid, getuid());
	CU_ASSERT_NOT_EQUAL(o.chain[0].start_ns, 0);
	CU_ASSERT_NOT_EQUAL(o.chain[0].exe[0], '\0');
	CU_ASSERT_NOT_EQUAL(o.chain[0].cmdline[0], '\0');
	CU_ASSERT_EQUAL(o.n, 2);
	CU_ASSERT_EQUAL(o.chain[1].pid, getpid());
	CU_ASSERT_EQUAL(o.started, RW_ORIGIN_SPAWNED);
	rw_origin_describe(&o, d, sizeof d);
	CU_ASSERT_PTR_NOT_NULL(strstr(d, "running service"));
	/* the child is the first process itself: the entry point */
	CU_ASSERT_EQUAL(rw_container_origin_read("/proc", procs, child, &o), 0);
	CU_ASSERT_EQUAL(o.started, RW_ORIGIN_ENTRYPOINT);
	CU_ASSERT_EQUAL(o.n, 1);

	/* only the child is in the "container", whose first process is someone else: started from outside */
	fd = open(procs, O_WRONLY | O_TRUNC);
	dprintf(fd, "%d\n", (int)child);
	close(fd);
	CU_ASSERT_EQUAL(rw_container_origin_read("/proc", procs, 1, &o), 0);
	CU_ASSERT_EQUAL(o.started, RW_ORIGIN_EXEC);
	CU_ASSERT_EQUAL(o.n, 2); /* the child, then the parent outside that started it */
	CU_ASSERT_EQUAL(o.chain[1].pid, getpid());
	/* no first process known */
	CU_ASSERT_EQUAL(rw_container_origin_read("/proc", procs, 0, &o), 0);
	CU_ASSERT_EQUAL(o.started, RW_ORIGIN_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(rw_origin_start_name(o.started), "unknown");

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* every process gone: nothing to report */
	CU_ASSERT_EQUAL(rw_container_origin_read("/proc", procs, 1, &o), -ENOENT);
	CU_ASSERT_FALSE(o.have);
	unlink(procs);
	CU_ASSERT_EQUAL(rw_container_origin_read("/proc", procs, 1, &o), -ENOENT);
}

static bool has(const struct rw_buf *b, const char *needle)
{
	return b->data && memmem(b->data, b->len, needle, strlen(needle)) != NULL;
}

/* The names and the origin reach every output: /verdicts JSON, the alert line, rigwatch_container_info (text and
 * protobuf). A label value that is not ours is escaped in each format. */
static void test_outputs(void)
{
	struct rw_report r;
	struct rw_report_target t[4];
	struct rw_buf b = RW_BUF_INIT;
	size_t len;
	char err[256];
	struct rw_glob_list labels = { .n = 1 };
	strcpy(labels.items[0], "*");

	fixture_report(&r, t);
	char *text = slurp("edge.config.v2.json", &len);
	CU_ASSERT_EQUAL_FATAL(rw_docker_config_parse(text, len, &labels, &t[0].container, err, sizeof err), 0);
	struct rw_container_label *l = &t[0].container.labels[t[0].container.n_labels++];
	snprintf(l->key, sizeof l->key, "tier");
	snprintf(l->value, sizeof l->value, "a\"b\\c");
	struct rw_container_origin *o = &t[0].origin;
	o->have = true;
	o->started = RW_ORIGIN_EXEC;
	o->hashing_since_ns = FIX_T0 + 2000000000ull;
	o->n = 2;
	o->chain[0] = (struct rw_origin_proc){ .pid = 900, .ppid = 800, .uid = 33, .start_ns = FIX_T0,
					       .comm = "php-fpm", .exe = "/usr/sbin/nginx", .cmdline = "php-fpm -c x" };
	o->chain[1] = (struct rw_origin_proc){ .pid = 800, .ppid = 1, .comm = "containerd-shim" };

	CU_ASSERT_EQUAL_FATAL(rw_verdict_target_json(&t[0], &b), 0);
	CU_ASSERT_TRUE(has(&b, "\"container\":{\"engine\":\"docker\",\"name\":\"edge\",\"short_id\":\"274c16388c82\","
			      "\"image\":\"acme/nginx:1.25\",\"image_repository\":\"acme/nginx\",\"image_tag\":\"1.25\""));
	CU_ASSERT_TRUE(has(&b, "\"state\":\"running\",\"started\":\"2026-11-30T06:42:59Z\""));
	CU_ASSERT_TRUE(has(&b, "\"labels\":{\"com.docker.compose.project\":\"shop\",\"tier\":\"a\\\"b\\\\c\"}"));
	CU_ASSERT_TRUE(has(&b, "\"origin\":{\"started_by\":\"exec\""));
	CU_ASSERT_TRUE(has(&b, "\"hashing_since\":\"2024-05-01T10:40:02Z\""));
	CU_ASSERT_TRUE(has(&b, "{\"pid\":900,\"ppid\":800,\"uid\":33,\"comm\":\"php-fpm\",\"exe\":\"/usr/sbin/nginx\","
			      "\"cmdline\":\"php-fpm -c x\",\"start\":\"2024-05-01T10:40:00Z\"}"));

	rw_buf_reset(&b);
	CU_ASSERT_EQUAL_FATAL(rw_alerts_format("node-1", &t[0], RW_VERDICT_SUSPECT, &b), 0);
	CU_ASSERT_TRUE(has(&b, "Cryptocurrency miner detected in docker:edge ("));
	CU_ASSERT_TRUE(has(&b, " image=acme/nginx:1.25 started_by=exec)"));
	CU_ASSERT_TRUE(has(&b, "\"container.name\":\"edge\",\"container.image\":\"acme/nginx:1.25\","
			      "\"container.image.repository\":\"acme/nginx\",\"container.image.tag\":\"1.25\""));
	CU_ASSERT_TRUE(has(&b, "\"container.label[tier]\":\"a\\\"b\\\\c\""));
	CU_ASSERT_TRUE(has(&b, "\"rigwatch.origin.process_tree\":\"php-fpm(900) <- containerd-shim(800)\""));
	CU_ASSERT_TRUE(has(&b, "\"rigwatch.origin.cmdline\":\"php-fpm -c x\",\"rigwatch.origin.uid\":33"));

	rw_buf_reset(&b);
	CU_ASSERT_EQUAL_FATAL(rw_expo_text(&r, &b), 0);
	CU_ASSERT_TRUE(has(&b, "# TYPE rigwatch_container_info gauge\n"));
	CU_ASSERT_TRUE(has(&b, "rigwatch_container_info{cgroup=\"/system.slice/docker-0123456789abcdef0123456789abcdef"
			      "0123456789abcdef0123456789abcdef.scope\",runtime=\"docker\",id=\"0123456789abcdef0123456789abcdef"
			      "0123456789abcdef0123456789abcdef\",name=\"edge\",image=\"acme/nginx:1.25\","
			      "container_label_com_docker_compose_project=\"shop\",container_label_tier=\"a\\\"b\\\\c\"} 1\n"));
	/* one series: targets without names have none */
	const char *first = memmem(b.data, b.len, "rigwatch_container_info{", 24);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	CU_ASSERT_PTR_NULL(memmem(first + 1, b.len - (size_t)(first + 1 - b.data), "rigwatch_container_info{", 24));

	rw_buf_reset(&b);
	CU_ASSERT_EQUAL(rw_expo_protobuf(&r, &b), 0);
	CU_ASSERT_TRUE(has(&b, "rigwatch_container_info"));
	CU_ASSERT_TRUE(has(&b, "container_label_tier"));
	rw_buf_free(&b);
}

static const rw_test tests[] = {
	RW_TEST(test_json_valid_and_invalid),
	RW_TEST(test_docker_fixture_names),
	RW_TEST(test_docker_fixture_malformed),
	RW_TEST(test_docker_meta_read),
	RW_TEST(test_podman_fixture),
	RW_TEST(test_image_ref_and_time),
	RW_TEST(test_origin_real_processes),
	RW_TEST(test_outputs),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("containers", tests);
}
