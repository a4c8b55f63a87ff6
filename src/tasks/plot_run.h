/* Plots of runs: the curves page of one or more run folders' metrics.csv, and its refresh in a run
 * folder after each epoch of mixbt pretrain. */
#ifndef MBT_PLOT_RUN_H
#define MBT_PLOT_RUN_H

#include <stdio.h>

#include "core/status.h"
#include "tasks/plot_draw.h"

/* The format named by out's extension (.png, .svg, .pdf, in any case); MBT_ERR_ARG naming out otherwise. */
mbt_status mbt_plot_format_of(const char *out, mbt_plot_format *format);

/* Reads each run folder's metrics.csv and writes the page of all of them (overlaid, named by folder) to out
 * atomically, in the format of its extension. */
mbt_status mbt_plot_runs(const char *const *dirs, int n_dirs, const char *out);

/* Redraws dir/curves.png from dir/metrics.csv (a training run reports a failure as a warning and goes on). */
mbt_status mbt_plot_refresh_run(const char *dir);

#endif
