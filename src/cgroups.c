/* cgroups: mount discovery from mountinfo and the walk that finds workload cgroups.
 *
 * Plain openat/getdents/read rather than libcgroup 2.0.2: its walk cannot start at a fixture root, does not give
 * the directory inode (the cgroup id perf uses), and it cannot read cgroup.* files on v2 (see README). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rigwatch/cgroups.h"
#include "rigwatch/fsutil.h"
#include "rigwatch/log.h"

#define WALK_MAX_DEPTH 48
#define WALK_PATH_MAX  4096

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static bool has_option(const char *opts, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static void set_v1(char *slot, const char *mnt)
{
	/* The first mount of a controller wins: later bind mounts of the same hierarchy are copies. */
	if (slot[0] == '\0')
		snprintf(slot, RW_MOUNT_PATH_MAX, "%s", mnt);
}

int rw_cgroup_mounts_parse(const char *mountinfo, struct rw_cgroup_mounts *out, char *err, size_t errlen)
{
	char line[4096];
	unsigned lineno = 0;
	const char *p = mountinfo;

	memset(out, 0, sizeof *out);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (len >= sizeof line) {
			snprintf(err, errlen, "mountinfo line %u: longer than %zu bytes", lineno, sizeof line - 1);
			return -EINVAL;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl ? nl + 1 : p + len;
		if (line[0] == '\0')
			continue;

		/* id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions */
		char *fields[8] = { 0 };
		char *save = NULL, *tok;
		int n = 0;
		for (tok = strtok_r(line, " ", &save); tok && n < 6; tok = strtok_r(NULL, " ", &save))
			fields[n++] = tok;
		while (tok && strcmp(tok, "-") != 0)
			tok = strtok_r(NULL, " ", &save);
		if (n < 6 || !tok) {
			snprintf(err, errlen, "mountinfo line %u: malformed (no \" - \" separator)", lineno);
			return -EINVAL;
		}
		char *fstype = strtok_r(NULL, " ", &save);
		char *source = strtok_r(NULL, " ", &save);
		char *super = strtok_r(NULL, " ", &save);
		if (!fstype || !source || !super) {
			snprintf(err, errlen, "mountinfo line %u: malformed (missing fstype, source or options)", lineno);
			return -EINVAL;
		}
		char *mnt = fields[4];
		unescape_octal(mnt);
		if (strlen(mnt) >= RW_MOUNT_PATH_MAX)
			continue;
		/* Only mounts of the whole hierarchy (root "/") show every cgroup; a container's view of its own
		 * subtree has another root and is not what a host agent should walk. */
		bool whole = strcmp(fields[3], "/") == 0;
		if (strcmp(fstype, "cgroup2") == 0) {
			if (out->v2[0] == '\0' && whole)
				snprintf(out->v2, sizeof out->v2, "%s", mnt);
		} else if (strcmp(fstype, "cgroup") == 0 && whole) {
			if (has_option(super, "cpu"))
				set_v1(out->v1_cpu, mnt);
			if (has_option(super, "cpuacct"))
				set_v1(out->v1_cpuacct, mnt);
			if (has_option(super, "memory"))
				set_v1(out->v1_memory, mnt);
			if (has_option(super, "pids"))
				set_v1(out->v1_pids, mnt);
			if (has_option(super, "perf_event"))
				set_v1(out->v1_perf_event, mnt);
			if (has_option(super, "freezer"))
				set_v1(out->v1_freezer, mnt);
			if (has_option(super, "name=systemd"))
				set_v1(out->v1_systemd, mnt);
		}
	}
	bool any_v1 = out->v1_cpu[0] || out->v1_cpuacct[0] || out->v1_memory[0] || out->v1_pids[0] ||
		      out->v1_perf_event[0] || out->v1_freezer[0] || out->v1_systemd[0];
	if (out->v2[0] == '\0' && !any_v1) {
		snprintf(err, errlen, "no cgroup mount found: neither cgroup2 nor a v1 controller (cpu, cpuacct, "
				      "memory, pids, freezer, name=systemd) is mounted");
		return -ENOENT;
	}
	out->hybrid = out->v2[0] && any_v1;
	out->layout = !out->v2[0] ? RW_CGROUP_V1 : out->hybrid ? RW_CGROUP_HYBRID : RW_CGROUP_V2;
	return 0;
}

const char *rw_cgroup_layout_name(enum rw_cgroup_layout l)
{
	return l == RW_CGROUP_V1 ? "v1" : l == RW_CGROUP_HYBRID ? "hybrid" : "v2";
}

/* A top-level directory of the hierarchy at mnt named "slurm" or "slurm_<node>" (multiple slurmd). */
static bool has_slurm_tree(const char *mnt)
{
	DIR *d = opendir(mnt);
	struct dirent *de;
	bool found = false;
	if (!d)
		return false;
	while (!found && (de = readdir(d)) != NULL)
		found = (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) &&
			(strcmp(de->d_name, "slurm") == 0 || strncmp(de->d_name, "slurm_", 6) == 0);
	closedir(d);
	return found;
}

/* Any child cgroup: a hierarchy nothing was ever placed in below its root marks no workload. */
static bool has_children(const char *mnt)
{
	struct stat st;
	return stat(mnt, &st) == 0 && st.st_nlink > 2;
}

static void pick(struct rw_cgroup_mounts *m, const char *mnt, const char *name)
{
	snprintf(m->v1_walk, sizeof m->v1_walk, "%s", mnt);
	snprintf(m->v1_walk_name, sizeof m->v1_walk_name, "%s", name);
}

int rw_cgroup_v1_pick(struct rw_cgroup_mounts *m)
{
	const char *cpu_name = strcmp(m->v1_cpu, m->v1_cpuacct) == 0 ? "cpu,cpuacct" : "cpu";
	if (m->v1_freezer[0] && has_slurm_tree(m->v1_freezer))
		pick(m, m->v1_freezer, "freezer");
	else if (m->v1_cpuacct[0] && has_children(m->v1_cpuacct))
		pick(m, m->v1_cpuacct, strcmp(m->v1_cpu, m->v1_cpuacct) == 0 ? "cpu,cpuacct" : "cpuacct");
	else if (m->v1_cpu[0] && has_children(m->v1_cpu))
		pick(m, m->v1_cpu, cpu_name);
	else if (m->v1_systemd[0])
		pick(m, m->v1_systemd, "name=systemd");
	else if (m->v1_cpuacct[0])
		pick(m, m->v1_cpuacct, "cpuacct");
	else if (m->v1_cpu[0])
		pick(m, m->v1_cpu, cpu_name);
	else if (m->v1_freezer[0])
		pick(m, m->v1_freezer, "freezer");
	else if (m->v1_memory[0])
		pick(m, m->v1_memory, "memory");
	else if (m->v1_pids[0])
		pick(m, m->v1_pids, "pids");
	else
		return -ENOENT;
	return 0;
}

int rw_cgroup_mounts_detect(const char *mountinfo_path, struct rw_cgroup_mounts *out, char *err, size_t errlen)
{
	FILE *f = fopen(mountinfo_path, "re");
	char *text = NULL;
	size_t len = 0;
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", mountinfo_path, strerror(errno));
		return r;
	}
	FILE *mem = open_memstream(&text, &len);
	if (!mem) {
		fclose(f);
		return -ENOMEM;
	}
	char buf[4096];
	size_t got;
	while ((got = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, got, mem);
	fclose(f);
	if (fclose(mem) != 0 || !text) {
		free(text);
		return -ENOMEM;
	}
	r = rw_cgroup_mounts_parse(text, out, err, errlen);
	free(text);
	if (r == 0 && out->layout == RW_CGROUP_V1 && rw_cgroup_v1_pick(out) < 0) {
		snprintf(err, errlen, "cgroup v1 only, and no hierarchy to walk (cpuacct, cpu, name=systemd, freezer, "
				      "memory or pids) is mounted");
		return -ENOENT;
	}
	if (r == 0 && out->v2[0]) {
		char path[RW_MOUNT_PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/cgroup.controllers", out->v2);
		FILE *c = fopen(path, "re");
		if (c) {
			if (fgets(out->v2_controllers, sizeof out->v2_controllers, c))
				out->v2_controllers[strcspn(out->v2_controllers, "\n")] = '\0';
			fclose(c);
		}
	}
	return r;
}

uint64_t rw_cgroup_id(const char *abs_path)
{
	struct stat st;
	return stat(abs_path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

struct tree_walk {
	const char *const *include, *const *exclude;
	unsigned n_include, n_exclude;
	rw_cgroup_visit_fn visit;
	rw_cgroup_visit_fn structure;
	rw_cgroup_known_fn known;
	void *arg;
	struct rw_walk_stats *stats;
	char path[WALK_PATH_MAX];
};

/* 1 if cgroup.events says populated (processes here or below), 0 if not, -errno if unreadable. A v1 directory
 * has no cgroup.events: one with child cgroups counts as populated (v1 keeps no recursive count; the walk looks
 * below), a leaf when its cgroup.procs lists a process, so an emptied v1 cgroup (Slurm and runtimes leave some
 * behind for a while) is no target. A directory with neither file counts as populated, so fixture trees need not
 * fake them. */
static int read_populated(int dfd)
{
	char buf[256];
	ssize_t n = rw_read_kernfs(dfd, "cgroup.events", buf, sizeof buf);
	if (n == -ENOENT) {
		struct stat st;
		if (fstat(dfd, &st) == 0 && st.st_nlink > 2)
			return 1;
		char one[16];
		n = rw_read_kernfs(dfd, "cgroup.procs", one, sizeof one);
		if (n == -ENOENT && fstat(dfd, &st) == 0 && st.st_nlink == 0)
			return -ENOENT; /* removed */
		return n == -ENOENT ? 1 : n < 0 ? (int)n : n > 0;
	}
	if (n < 0)
		return (int)n;
	const char *p = strstr(buf, "populated ");
	return p ? p[10] == '1' : 1;
}

static bool glob_any(const char *const *globs, unsigned n, const char *path)
{
	for (unsigned i = 0; i < n; i++)
		if (fnmatch(globs[i], path, 0) == 0)
			return true;
	return false;
}

static bool is_workload_kind(enum rw_workload_kind k)
{
	return k == RW_KIND_CONTAINER || k == RW_KIND_SLURM || k == RW_KIND_SERVICE || k == RW_KIND_SCOPE;
}

/* Offer the cgroup at w->path to the callback. dfd: its open directory, or -1 (then ino is set); pfd and name:
 * its parent's fd and its name there. ino: the directory's inode if the caller has it, else 0. */
static int offer(struct tree_walk *w, int dfd, int pfd, const char *name, const struct rw_identity *id, uint64_t ino)
{
	struct stat st;
	if (!ino) {
		if (fstat(dfd, &st) < 0)
			return 0;
		ino = (uint64_t)st.st_ino;
	}
	if (w->n_include && !glob_any(w->include, w->n_include, w->path))
		return 0;
	if (glob_any(w->exclude, w->n_exclude, w->path))
		return 0;
	struct rw_cgroup_entry e = { .path = w->path, .id = ino, .identity = id, .dir_fd = dfd, .parent_fd = pfd,
				     .name = name };
	w->stats->targets++;
	return w->visit(&e, w->arg);
}

/* Tell the caller about a populated directory that is no target (its own processes sit outside every target). */
static int offer_structure(struct tree_walk *w, int dfd, int pfd, const char *name, const struct rw_identity *id)
{
	struct stat st;
	if (!w->structure || fstat(dfd, &st) < 0)
		return 0;
	if (w->n_include && !glob_any(w->include, w->n_include, w->path))
		return 0;
	if (glob_any(w->exclude, w->n_exclude, w->path))
		return 0;
	struct rw_cgroup_entry e = { .path = w->path, .id = (uint64_t)st.st_ino, .identity = id, .dir_fd = dfd,
				     .parent_fd = pfd, .name = name };
	return w->structure(&e, w->arg);
}

/* Visit the directory open at dfd whose relative path is in w->path (length len); pfd and name reach it from its
 * parent. */
static int walk_dir(struct tree_walk *w, int dfd, int pfd, const char *name, size_t len, int depth)
{
	struct rw_identity id;
	int r = 0, populated;

	w->stats->dirs++;
	populated = read_populated(dfd);
	if (populated < 0) {
		w->stats->vanished++;
		return 0;
	}
	if (populated == 0)
		return 0; /* nothing runs here or below */

	rw_identity_from_path(w->path, &id);
	if (depth > 0 && is_workload_kind(id.kind))
		return offer(w, dfd, pfd, name, &id, 0);

	/* A directory's link count is 2 plus its subdirectories (kernfs keeps it so, as do disk file systems):
	 * a leaf needs no readdir, which is most of the cost of a walk over many containers. */
	struct stat st;
	if (depth > 0 && fstat(dfd, &st) == 0 && st.st_nlink == 2)
		return id.kind == RW_KIND_OTHER ? offer(w, dfd, pfd, name, &id, (uint64_t)st.st_ino)
						: offer_structure(w, dfd, pfd, name, &id);

	int lfd = dup(dfd);
	if (lfd < 0)
		return 0;
	DIR *d = fdopendir(lfd);
	if (!d) {
		close(lfd);
		return 0;
	}
	bool has_children = false;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && r == 0) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		size_t nl = strlen(de->d_name);
		/* cgroupfs (kernfs) and disk file systems give the type and the inode in the entry: the cgroup id
		 * without a stat per child per interval, most of a walk's system calls once the targets are known. */
		uint64_t ino = (uint64_t)de->d_ino;
		if (de->d_type == DT_UNKNOWN) {
			struct stat cst;
			if (fstatat(dfd, de->d_name, &cst, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT)
					w->stats->vanished++;
				continue; /* gone: normal */
			}
			if (!S_ISDIR(cst.st_mode))
				continue; /* a file */
			ino = (uint64_t)cst.st_ino;
		}
		has_children = true;
		if (depth + 1 >= WALK_MAX_DEPTH || len + 1 + nl >= sizeof w->path) {
			rw_log_warn("cgroups", "skipping %s/%s: nested too deep or path too long", w->path, de->d_name);
			continue;
		}
		size_t base = len;
		if (!(len == 1 && w->path[0] == '/'))
			w->path[base++] = '/';
		memcpy(w->path + base, de->d_name, nl + 1);
		if (w->known && w->known(ino, w->arg)) {
			/* the caller has its identity, and opens it only if it must */
			w->stats->dirs++;
			r = offer(w, -1, dfd, de->d_name, NULL, ino);
		} else {
			int cfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (cfd >= 0) {
				r = walk_dir(w, cfd, dfd, de->d_name, base + nl, depth + 1);
				close(cfd);
			} else if (errno == ENOENT) {
				w->stats->vanished++;
			}
		}
		w->path[len] = '\0';
	}
	closedir(d);
	if (r == 0 && !has_children && depth > 0 && id.kind == RW_KIND_OTHER)
		r = offer(w, dfd, pfd, name, &id, 0); /* a leaf with processes */
	else if (r == 0)
		r = offer_structure(w, dfd, pfd, name, &id);
	return r;
}

int rw_cgroup_walk(const char *root, const char *const *include, unsigned n_include, const char *const *exclude,
		   unsigned n_exclude, rw_cgroup_visit_fn visit, void *arg, struct rw_walk_stats *stats)
{
	return rw_cgroup_walk_known(root, include, n_include, exclude, n_exclude, NULL, visit, arg, stats);
}

int rw_cgroup_walk_known(const char *root, const char *const *include, unsigned n_include,
			 const char *const *exclude, unsigned n_exclude, rw_cgroup_known_fn known,
			 rw_cgroup_visit_fn visit, void *arg, struct rw_walk_stats *stats)
{
	return rw_cgroup_walk_all(root, include, n_include, exclude, n_exclude, known, visit, NULL, arg, stats);
}

int rw_cgroup_walk_all(const char *root, const char *const *include, unsigned n_include,
		       const char *const *exclude, unsigned n_exclude, rw_cgroup_known_fn known,
		       rw_cgroup_visit_fn visit, rw_cgroup_visit_fn structure, void *arg, struct rw_walk_stats *stats)
{
	struct rw_walk_stats local;
	struct tree_walk *w = malloc(sizeof *w);
	int r;

	if (!w)
		return -ENOMEM;
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof *stats);
	*w = (struct tree_walk){ .include = include, .exclude = exclude, .n_include = n_include, .n_exclude = n_exclude,
				 .visit = visit, .structure = structure, .known = known, .arg = arg, .stats = stats };
	strcpy(w->path, "/");
	int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		free(w);
		return r;
	}
	r = walk_dir(w, dfd, dfd, ".", 1, 0);
	close(dfd);
	free(w);
	return r;
}
