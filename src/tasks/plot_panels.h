/* What the curves page shows, apart from how it is drawn: its panels (loss, learning rate, k-NN accuracy,
 * images/s), the series of each taken from the runs' metrics.csv columns, their ranges, the colours of
 * the runs and where each panel sits on the page. */
#ifndef MBT_PLOT_PANELS_H
#define MBT_PLOT_PANELS_H

#include "io/metrics_csv.h"

typedef enum { MBT_PANEL_LOSS, MBT_PANEL_LR, MBT_PANEL_ACCURACY, MBT_PANEL_IPS, MBT_PANEL_COUNT } mbt_panel_kind;

#define MBT_PANEL_MAX_SERIES 16
#define MBT_PLOT_PALETTE 10 /* run colours; more runs reuse them in order */

/* One run on the page: its legend text and its metrics. */
typedef struct {
    const char *label;
    const mbt_metrics_table *table;
} mbt_plot_run;

/* A panel: the column names it draws, those with a point in some run (the same line style for a name in
 * every run, the colour of the run), and the range of the points, in plotted coordinates (log10 of the
 * value when log_y; x: the epochs of every row of every run, the same for all panels). */
typedef struct {
    mbt_panel_kind kind;
    const char *title;
    int n_series;
    const char *series[MBT_PANEL_MAX_SERIES]; /* column names (literals, or the tables' names) */
    int log_y;
    int has_points;
    double x_min, x_max, y_min, y_max;
} mbt_plot_panel;

/* The panels of runs[0, n_runs): loss (the column "loss" first, then every column that is not one of
 * epoch, step, lr, images_per_s, elapsed_s or an accuracy; on a log scale when all its values are
 * positive and span more than a factor of 20), learning rate, accuracy (the columns named *_top1 and
 * *_top5: pretrain's knn_top1, knn_top5) and images/s. */
void mbt_plot_panels_build(const mbt_plot_run *runs, int n_runs, mbt_plot_panel panels[MBT_PANEL_COUNT]);

/* The plotted y of row r of column col (x: its epoch) in panel p, or NAN where there is no point: an empty
 * or non-finite cell, a non-positive value on a log scale, lr on the row of epoch 0 (before training)
 * and an images/s of 0 (nothing was trained in this process for that epoch). */
double mbt_plot_point(const mbt_plot_panel *p, const mbt_metrics_table *t, int col, int r);

/* Where panel kind sits on a page with n_runs runs, in fractions of the page (x right, y up): the plot
 * area inside its axes, vp = {x0, x1, y0, y1}; and the area of the legend of the runs below the panels. */
void mbt_plot_panel_viewport(mbt_panel_kind kind, int n_runs, double vp[4]);
void mbt_plot_legend_viewport(int n_runs, double vp[4]);

/* The colour of run i (0-255 RGB). */
void mbt_plot_run_color(int i, unsigned char rgb[3]);

#endif
