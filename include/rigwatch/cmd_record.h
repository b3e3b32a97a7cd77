/* cmd_record: `rigwatch record`, samples of live targets written to a trace file (trace.h). */
#ifndef RIGWATCH_CMD_RECORD_H
#define RIGWATCH_CMD_RECORD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "rigwatch/config.h"

/* Run the sampling loop (no scoring, no HTTP) and write every sample of every target, or of the target whose
 * relative path equals `cgroup` (NULL for all), to `output`, flushed each interval, for `duration_s` seconds
 * (0: until *stop is set). Returns 0, -ENOENT without a cgroup2 mount, or -errno, with a message in err. */
int rw_record(const struct rw_config *cfg, const char *output, const char *cgroup, uint32_t duration_s,
	      const char *label, volatile sig_atomic_t *stop, char *err, size_t errlen);

#endif
