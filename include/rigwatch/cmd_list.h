/* cmd_list: `rigwatch list`, the verdicts as a table for a person at a terminal (or as JSON). They come from the
 * agent answering on cfg->listen_address when there is one (vsource.h), so the table says what the daemon decided;
 * only without one are they scored here over three readings. The first line says which. */
#ifndef RIGWATCH_CMD_LIST_H
#define RIGWATCH_CMD_LIST_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "rigwatch/config.h"

/* Print to `out`: two '#' lines (where the verdicts come from; host, time and count) and the table fitted to the
 * width of `out` (listview.h), or with `json` {"source":"agent"|"local","describe":...,"verdicts":<document>}.
 * `local` scores here even when an agent answers. Returns 0 or a negative errno with err set (-ENOENT, -EINVAL:
 * bad input for the local agent). */
int rw_cmd_list(const struct rw_config *cfg, bool local, bool json, volatile sig_atomic_t *stop, FILE *out,
		char *err, size_t errlen);

#endif
