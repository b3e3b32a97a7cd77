/* cmd_top: `rigwatch top`, a live view of the verdicts in a terminal with plain ANSI escapes (no curses: one screen
 * redrawn from the home position, which every terminal emulator and tmux understand). Refreshes every interval,
 * highest score first; rows whose verdict or action changed since the last refresh are shown reversed, mining rows
 * red, suspect yellow. q quits (also Ctrl-C); a resized terminal is redrawn at once. */
#ifndef RIGWATCH_CMD_TOP_H
#define RIGWATCH_CMD_TOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "rigwatch/config.h"

#include "rigwatch/vsource.h"

/* Run until q is read from in_fd or *stop is set. Draws on out_fd. interval_ms: refresh period when the
 * document does not give one. Returns 0 or a negative errno. */
int rw_top_run(struct rw_vsource *src, volatile sig_atomic_t *stop, int in_fd, int out_fd, unsigned interval_ms);

/* `rigwatch top` on the terminal of stdin/stdout: verdicts of the agent on cfg->listen_address, else (or with
 * `local`) scored here. Returns 0 or a negative errno with err set. */
int rw_cmd_top(const struct rw_config *cfg, bool local, volatile sig_atomic_t *stop, char *err, size_t errlen);

#endif
