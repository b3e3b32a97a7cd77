/* cmd_list: `rigwatch list`, the targets of one report as a table. */
#ifndef RIGWATCH_CMD_LIST_H
#define RIGWATCH_CMD_LIST_H

#include <stdio.h>

#include "rigwatch/report.h"

/* Print the report as a table: one line per target, and a line under it for the indicator evidence. */
void rw_list_print_table(const struct rw_report *r, FILE *out);

#endif
