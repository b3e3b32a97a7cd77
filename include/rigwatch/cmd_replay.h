/* cmd_replay: `rigwatch replay FILE`, a recorded trace judged as the live agent would have judged it. */
#ifndef RIGWATCH_CMD_REPLAY_H
#define RIGWATCH_CMD_REPLAY_H

#include <stddef.h>
#include <stdio.h>

#include "rigwatch/config.h"
#include "rigwatch/model.h"

/* Replay a trace: score every sample with a fresh scorer and print each verdict change as one JSON line to out:
 * {"time","cgroup","cgroup_id","verdict","previous","score","sources","reasons","first_seen","since"}, the shape of
 * a /verdicts target minus identity. Returns 0, or -EINVAL/-errno with "FILE: offset N: ..." in err after the
 * changes of every whole sample before the damage were printed. */
int rw_replay_file(const char *path, const struct rw_config *cfg, const struct rw_model *m, FILE *out, char *err,
		   size_t errlen);

#endif
