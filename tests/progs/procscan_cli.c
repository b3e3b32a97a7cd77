/* procscan_cli: run the indicator scan on cgroup directories and print the evidence, for the integration test.
 *   procscan_cli RULES PROC_ROOT CGROUP_DIR...
 * One block per cgroup: "procscan cgroup=DIR processes= matches= pool_connections= rule_hits=0x.. evidence=..."
 * then "origin pid= ppid= uid= start= comm= exe=" lines. Exit 2 on a bad rule file (its file:line message). */
#include <stdio.h>
#include <string.h>

#include "rigwatch/procscan.h"

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: procscan_cli RULES PROC_ROOT CGROUP_DIR...\n");
		return 2;
	}
	struct rw_procscan_rules *r;
	char err[512];
	if (rw_procscan_rules_load(&r, argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		struct rw_indicator_evidence ev;
		int rc = rw_procscan_target(r, argv[2], argv[i], &ev);
		printf("procscan cgroup=%s rc=%d processes=%u matches=%u pool_connections=%u rule_hits=0x%x evidence=%s\n",
		       argv[i], rc, ev.processes, ev.matches, ev.pool_connections, ev.rule_hits, ev.evidence);
		for (unsigned k = 0; k < ev.n_origin; k++)
			printf("origin pid=%d ppid=%d uid=%u start=%llu comm=%s exe=%s\n", ev.origin[k].pid,
			       ev.origin[k].ppid, ev.origin[k].uid, (unsigned long long)ev.origin[k].start_time_s,
			       ev.origin[k].comm, ev.origin[k].exe);
	}
	rw_procscan_rules_free(r);
	return 0;
}
