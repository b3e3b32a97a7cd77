/* buildinfo: what this binary is, for rigwatch_build_info{...} and `rigwatch version`: the version, the git
 * revision it was built from ("unknown" when built outside a git checkout), the compiler and target, and the
 * versions of the libraries' headers it was compiled against. */
#ifndef RIGWATCH_BUILDINFO_H
#define RIGWATCH_BUILDINFO_H

struct rw_build_label {
	const char *name;   /* a Prometheus label name */
	const char *value;
};

/* The labels in output order; *out points at a static table. Returns how many. Thread-safe. */
unsigned rw_build_info(const struct rw_build_label **out);
/* One label's value by name, or "unknown". */
const char *rw_build_value(const char *name);

#endif
