/* Drawing the curves page of some runs with PLplot's cairo devices (PNG, SVG, PDF), into memory. */
#ifndef MBT_PLOT_DRAW_H
#define MBT_PLOT_DRAW_H

#include <stddef.h>

#include "core/status.h"
#include "tasks/plot_panels.h"

typedef enum { MBT_PLOT_PNG, MBT_PLOT_SVG, MBT_PLOT_PDF } mbt_plot_format;

#define MBT_PLOT_WIDTH 1200 /* the page: pixels of a PNG, points of an SVG or PDF */
#define MBT_PLOT_HEIGHT 900

/* Draws the panels of runs[0, n_runs) (n_runs >= 1) as a file of the format into a malloc'ed buffer
 * (*data, *len). A PLplot failure (no cairo device, an error inside the library, which would otherwise end
 * the process) is MBT_ERR_BACKEND with PLplot's message; the process goes on. PLplot keeps global state:
 * one thread at a time. */
mbt_status mbt_plot_draw(const mbt_plot_run *runs, int n_runs, mbt_plot_format format, char **data, size_t *len);

#endif
