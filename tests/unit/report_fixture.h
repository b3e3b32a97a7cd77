/* report_fixture.h: a fixed struct rw_report for the exposition and http suites. Every field that reaches the
 * output is set by hand (no clock, no host name), so renders are byte-for-byte reproducible against the golden
 * files in tests/data/exposition/. Target 2's cgroup name carries a quote, a backslash, a newline and an invalid
 * UTF-8 byte, which every format must escape or replace. */
#ifndef RW_REPORT_FIXTURE_H
#define RW_REPORT_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "rigwatch/report.h"

#define FIX_T0 1714560000000000000ull   /* 2024-05-01T10:40:00Z */

/* Identities are set by hand rather than parsed, so these files do not change when the identity module does. */
static inline void fixture_identity(struct rw_identity *id, enum rw_workload_kind kind, const char *runtime,
				    const char *cid, const char *name, const char *pod, const char *job, const char *unit)
{
	memset(id, 0, sizeof *id);
	id->kind = kind;
	snprintf(id->runtime, sizeof id->runtime, "%s", runtime);
	snprintf(id->id, sizeof id->id, "%s", cid);
	snprintf(id->name, sizeof id->name, "%s", name);
	snprintf(id->pod_uid, sizeof id->pod_uid, "%s", pod);
	snprintf(id->slurm_job, sizeof id->slurm_job, "%s", job);
	snprintf(id->unit, sizeof id->unit, "%s", unit);
}

static inline void fixture_report(struct rw_report *r, struct rw_report_target t[4])
{
	memset(r, 0, sizeof *r);
	memset(t, 0, 4 * sizeof *t);
	snprintf(r->host, sizeof r->host, "node-1");
	r->interval_ms = 1000;
	r->time_ns = FIX_T0 + 5000000000ull;
	r->interval_seq = 5;
	r->n_targets = 4;
	r->targets = t;
	r->loop_duration_us = 12345;
	r->cgroups_seen = 42;
	r->fpprobe_probes_total = 17;
	r->fpprobe_failed_total = 2;
	r->counters_denied_total = 1;
	r->open_fds = 23;
	r->counter_fds = 12;
	r->pmu_hw_available = true;
	r->pmu_cgroup_permitted = true;
	snprintf(r->pmu_name, sizeof r->pmu_name, "skx");
	r->sources_available = 0xf;
	r->start_time_ns = FIX_T0;
	r->config_reload_ok = true;
	r->config_reload_success_ns = FIX_T0;
	r->self.cpu_usec = 12340000;            /* 12.34 s */
	r->self.rss_bytes = 5931008;
	r->self.vm_bytes = 104857600;
	r->self.max_fds = 65536;
	r->self.start_time_ns = FIX_T0 - 250000000ull; /* started 0.25 s before the agent's first interval */

	/* 0: a Docker container mining, with hardware counters */
	struct rw_sample *s = &t[0].sample;
	s->cgroup_id = 4242;
	snprintf(s->cgroup, sizeof s->cgroup,
		 "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope");
	fixture_identity(&s->identity, RW_KIND_CONTAINER, "docker",
			 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "", "", "",
			 "docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope");
	s->time_ns = r->time_ns;
	s->interval_us = 1000000;
	s->sources = 0xf;
	s->cg.have = 0x7;
	s->cg.usage_usec = 123456789;
	s->cpu_usec = 1950000;
	s->cg.memory_current = 2181038080ull;
	s->counters_present = (1u << RW_CTR_INSTRUCTIONS) | (1u << RW_CTR_CYCLES) | (1u << RW_CTR_TASK_CLOCK);
	s->counter_ratio_q16 = 32768;
	s->counters[RW_CTR_INSTRUCTIONS] = 5000000000ull;
	s->counters[RW_CTR_CYCLES] = 4000000000ull;
	s->counters[RW_CTR_TASK_CLOCK] = 1950000000ull;
	s->counters_total[RW_CTR_INSTRUCTIONS] = 125000000000ull;
	s->counters_total[RW_CTR_CYCLES] = 100000000000ull;
	s->counters_total[RW_CTR_TASK_CLOCK] = 48750000000ull;   /* 48.75 s */
	s->fp.probes = 40;
	s->fp.max_thread_modes = 4;
	t[0].verdict.verdict = RW_VERDICT_MINING;
	t[0].verdict.score_q16 = 64880;   /* 0.98999... */
	t[0].verdict.sources_used = RW_SRC_BIT(RW_SRC_PMU) | RW_SRC_BIT(RW_SRC_FPPROBE);
	t[0].verdict.n_reasons = 2;
	t[0].verdict.reasons[0].source = RW_SRC_FPPROBE;
	snprintf(t[0].verdict.reasons[0].feature, sizeof t[0].verdict.reasons[0].feature, "fp_rounding_modes");
	t[0].verdict.reasons[0].value_q16 = 4 << 16;
	snprintf(t[0].verdict.reasons[0].detail, sizeof t[0].verdict.reasons[0].detail,
		 "4 distinct FP rounding modes in 1 s");
	t[0].verdict.reasons[1].source = RW_SRC_PMU;
	snprintf(t[0].verdict.reasons[1].feature, sizeof t[0].verdict.reasons[1].feature, "ipc");
	t[0].verdict.reasons[1].value_q16 = -81920;   /* -1.25: signed values print with their sign */
	snprintf(t[0].verdict.reasons[1].detail, sizeof t[0].verdict.reasons[1].detail, "IPC \"1.25\"\tlow\\high");
	t[0].verdict.first_seen_ns = FIX_T0;
	t[0].verdict.since_ns = FIX_T0 + 3000000000ull;
	t[0].verdict.detections = 1;
	t[0].action = RW_ACTION_DRY_RUN;
	t[0].response_decisions[0][0] = 1; /* dry-run ok, for rigwatch_target_response_actions_total */
	t[0].sample.ind.n_origin = 1;
	t[0].sample.ind.origin[0].pid = 777;
	t[0].sample.ind.origin[0].uid = 1000;
	snprintf(t[0].sample.ind.origin[0].comm, sizeof t[0].sample.ind.origin[0].comm, "xmrig");
	snprintf(t[0].sample.ind.origin[0].exe, sizeof t[0].sample.ind.origin[0].exe, "/tmp/.x/xmrig");

	/* 1: a Kubernetes container, clean, software counters only */
	s = &t[1].sample;
	s->cgroup_id = 77;
	snprintf(s->cgroup, sizeof s->cgroup,
		 "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1f2e3d4c_5b6a_7980_a1b2_c3d4e5f60718"
		 ".slice/cri-containerd-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope");
	fixture_identity(&s->identity, RW_KIND_CONTAINER, "containerd",
			 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", "",
			 "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718", "",
			 "cri-containerd-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope");
	snprintf(s->identity.k8s_ns, sizeof s->identity.k8s_ns, "crypto-lab");
	snprintf(s->identity.k8s_pod, sizeof s->identity.k8s_pod, "bench-7d9c5b6f4-x2x9z");
	snprintf(s->identity.k8s_container, sizeof s->identity.k8s_container, "hasher");
	t[1].allowed = true;
	snprintf(t[1].allow_reason, sizeof t[1].allow_reason, "the lab's \"benchmark\" (SEC-12)");
	s->time_ns = r->time_ns;
	s->interval_us = 1000000;
	s->sources = RW_SRC_BIT(RW_SRC_CGROUP);
	s->cg.have = 0x5;
	s->cg.usage_usec = 5000;
	s->cpu_usec = 100;
	s->cg.memory_current = 1048576;
	s->counters_present = (1u << RW_CTR_TASK_CLOCK) | (1u << RW_CTR_CONTEXT_SWITCHES);
	s->counter_ratio_q16 = 65536;
	s->counters[RW_CTR_TASK_CLOCK] = 100000;
	s->counters[RW_CTR_CONTEXT_SWITCHES] = 3;
	s->counters_total[RW_CTR_TASK_CLOCK] = 2500000;          /* 2.5 ms */
	s->counters_total[RW_CTR_CONTEXT_SWITCHES] = 61;
	t[1].verdict.verdict = RW_VERDICT_CLEAN;
	t[1].verdict.score_q16 = 655;
	t[1].verdict.sources_used = RW_SRC_BIT(RW_SRC_CGROUP);
	t[1].verdict.first_seen_ns = FIX_T0;
	t[1].verdict.since_ns = FIX_T0;

	/* 2: a hostile cgroup name (quote, backslash, newline, invalid UTF-8), suspect, half a measured interval */
	s = &t[2].sample;
	s->cgroup_id = 9000000000ull;
	snprintf(s->cgroup, sizeof s->cgroup, "/user.slice/we\"ird\\na\nme\xff\xc3\xa9.scope");
	fixture_identity(&s->identity, RW_KIND_SCOPE, "systemd", "", "", "", "", s->cgroup + 12);
	s->time_ns = r->time_ns;
	s->interval_us = 500000;
	s->sources = RW_SRC_BIT(RW_SRC_CGROUP) | RW_SRC_BIT(RW_SRC_INDICATORS);
	s->cg.have = 0x1;
	s->cg.usage_usec = 999;
	s->cpu_usec = 250000;
	t[2].verdict.verdict = RW_VERDICT_SUSPECT;
	t[2].verdict.score_q16 = 32768;
	t[2].verdict.sources_used = RW_SRC_BIT(RW_SRC_INDICATORS);
	t[2].verdict.n_reasons = 1;
	t[2].verdict.reasons[0].source = RW_SRC_INDICATORS;
	snprintf(t[2].verdict.reasons[0].feature, sizeof t[2].verdict.reasons[0].feature, "cmdline");
	t[2].verdict.reasons[0].value_q16 = 65536;
	snprintf(t[2].verdict.reasons[0].detail, sizeof t[2].verdict.reasons[0].detail,
		 "cmdline contains stratum+tcp://\x01\x7f");
	t[2].verdict.first_seen_ns = FIX_T0 + 1000000000ull;
	t[2].verdict.since_ns = FIX_T0 + 4000000000ull;

	/* 3: a Slurm step, no cgroup data read (interval 0): only the verdict families */
	s = &t[3].sample;
	s->cgroup_id = 1;
	snprintf(s->cgroup, sizeof s->cgroup, "/system.slice/slurmstepd.scope/job_1234/step_0");
	fixture_identity(&s->identity, RW_KIND_SLURM, "slurm", "", "1234/step_0", "", "1234", "slurmstepd.scope");
	snprintf(s->identity.slurm_step, sizeof s->identity.slurm_step, "0");
	snprintf(s->identity.slurm_uid, sizeof s->identity.slurm_uid, "1000");
	snprintf(s->identity.slurm_user, sizeof s->identity.slurm_user, "alice");
	t[3].verdict.verdict = RW_VERDICT_CLEAN;
	t[3].verdict.first_seen_ns = FIX_T0 + 5000000000ull;
	t[3].verdict.since_ns = FIX_T0 + 5000000000ull;
}

#endif
