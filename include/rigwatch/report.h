/* report: the agent's view of the host after one interval, handed to the consumers (HTTP exposition, alerts,
 * `rigwatch list`). Built by the agent loop; consumers copy what they keep, the agent owns the memory. */
#ifndef RIGWATCH_REPORT_H
#define RIGWATCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "rigwatch/config.h"
#include "rigwatch/containers.h"
#include "rigwatch/procself.h"
#include "rigwatch/sample.h"
#include "rigwatch/verdict.h"

/* State of the response (auto-kill) for a target. */
enum rw_action_state {
	RW_ACTION_NONE = 0,
	RW_ACTION_DRY_RUN,    /* would have acted */
	RW_ACTION_FROZEN,
	RW_ACTION_KILLED,
	RW_ACTION_FAILED,
};

#define RW_REPORT_RESPONSE_ACTIONS 3
#define RW_REPORT_RESPONSE_RESULTS 9
#define RW_REPORT_ALERT_SINKS 3 /* output (stdout or file), syslog, http: enum rw_alert_sink (alerts.h) */

struct rw_report_target {
	struct rw_sample sample;
	struct rw_verdict_state verdict;
	enum rw_action_state action;
	uint64_t action_time_ns;
	/* response decisions on this target while respond remembers it, by enum rw_respond_action x result:
	 * rigwatch_target_response_actions_total (the nonzero pairs), the identity-labelled twin of the host counter */
	uint32_t response_decisions[RW_REPORT_RESPONSE_ACTIONS][RW_REPORT_RESPONSE_RESULTS];
	bool counters_wanted;   /* busy enough for hardware counters (attention) */
	bool counters_denied;   /* wanted them but could not open them (fd budget, permission) */
	/* An [allow] rule matches (allow.h): scored and shown, never alerted on or acted upon. The one "should alert
	 * or act" decision: every alert and response path checks it. */
	bool allowed;
	char allow_reason[RW_ALLOW_REASON_LEN];
	struct rw_container_meta container;   /* the engine's names for a container target (have: known) */
	struct rw_container_origin origin;    /* a convicted target: where its miner started (have: known) */
};

struct rw_report {
	char host[64];
	uint32_t interval_ms;
	uint64_t time_ns;              /* CLOCK_REALTIME at the end of the interval */
	uint64_t interval_seq;         /* intervals since start */
	unsigned n_targets;
	struct rw_report_target *targets;

	/* the agent's own health */
	uint64_t loop_duration_us;     /* work done in the last interval */
	uint64_t cgroups_seen;         /* directories walked */
	uint64_t fpprobe_probes_total, fpprobe_failed_total;
	uint8_t fp_path;               /* enum rw_fp_path live: BPF, PTRACE, or NONE when the FP source is off */
	uint64_t fp_dropped_total;     /* eBPF path: observations lost to a full counts map */
	uint64_t counters_denied_total;/* target-intervals without counters they wanted */
	unsigned open_fds;
	unsigned counter_fds;
	bool pmu_hw_available;         /* hardware counters usable on this host */
	bool pmu_cgroup_permitted;
	char pmu_name[32];
	uint32_t sources_available;    /* RW_SRC_BIT()s the host can provide */
	/* rigwatch_response_actions_total{action,result}: every response decision since start, indexed by
	 * enum rw_respond_action and enum rw_respond_result (respond.h) */
	uint64_t response_actions[RW_REPORT_RESPONSE_ACTIONS][RW_REPORT_RESPONSE_RESULTS];
	/* rigwatch_alerts_{sent,dropped,failed}_total{sink}: what each alert sink did since start */
	uint64_t alerts_sent[RW_REPORT_ALERT_SINKS], alerts_dropped[RW_REPORT_ALERT_SINKS],
		alerts_failed[RW_REPORT_ALERT_SINKS];
	/* entries into `mining` since start, and the sum of their times to detection (first sight of the target to
	 * the mining verdict): rigwatch_detections_total, rigwatch_detection_delay_seconds_total */
	uint64_t detections_total, detection_delay_ns_total;
	uint64_t start_time_ns;
	/* configuration reloads (SIGHUP): whether the last one took, and when one last took (start counts) */
	bool config_reload_ok;
	uint64_t config_reload_success_ns;
	struct rw_procself self;       /* process_* metrics: the agent's own CPU, memory, fd limit, start */
};

#endif
