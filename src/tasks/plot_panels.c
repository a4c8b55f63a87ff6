/* The curves page's panels, series, ranges, colours and layout (no drawing here: tasks/plot_draw.c). */
#include "tasks/plot_panels.h"

#include <math.h>
#include <string.h>

/* Columns of metrics.csv that are drawn elsewhere or not at all. */
static const char *const NOT_LOSS[] = {"epoch", "step", "lr", "images_per_s", "elapsed_s"};

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

/* knn_top1, knn_top5 of pretrain; train_top1 ... test_top5 of a linear probe's folder */
static int is_accuracy_column(const char *name) { return ends_with(name, "_top1") || ends_with(name, "_top5"); }

static int is_loss_column(const char *name) {
    for (size_t i = 0; i < sizeof NOT_LOSS / sizeof *NOT_LOSS; i++)
        if (!strcmp(name, NOT_LOSS[i])) return 0;
    return !is_accuracy_column(name);
}

static void add_series(mbt_plot_panel *p, const char *name) {
    for (int i = 0; i < p->n_series; i++)
        if (!strcmp(p->series[i], name)) return;
    if (p->n_series < MBT_PANEL_MAX_SERIES) p->series[p->n_series++] = name;
}

/* The loss columns of every run: "loss" (the total, or the only value) first, then in order of appearance. */
static void loss_series(const mbt_plot_run *runs, int n_runs, mbt_plot_panel *p) {
    for (int r = 0; r < n_runs; r++)
        if (mbt_metrics_column(runs[r].table, "loss") >= 0) add_series(p, "loss");
    for (int r = 0; r < n_runs; r++)
        for (int c = 0; c < runs[r].table->n_cols; c++)
            if (is_loss_column(runs[r].table->names[c])) add_series(p, runs[r].table->names[c]);
}

double mbt_plot_point(const mbt_plot_panel *p, const mbt_metrics_table *t, int col, int r) {
    double v = mbt_metrics_value(t, r, col);
    if (!isfinite(v)) return NAN;
    if (p->kind == MBT_PANEL_LR && mbt_metrics_value(t, r, mbt_metrics_column(t, "epoch")) == 0) return NAN;
    if (p->kind == MBT_PANEL_IPS && v <= 0) return NAN;
    if (p->log_y) return v > 0 ? log10(v) : NAN;
    return v;
}

/* Over every point of p: the range of y (plotted coordinates) and whether there is any; then only the
 * series with points stay (a baseline's run has no knn_top5 to show in the legend). */
static void measure(const mbt_plot_run *runs, int n_runs, mbt_plot_panel *p) {
    p->has_points = 0;
    p->y_min = INFINITY;
    p->y_max = -INFINITY;
    int kept = 0;
    for (int s = 0; s < p->n_series; s++) {
        int points = 0;
        for (int r = 0; r < n_runs; r++) {
            const mbt_metrics_table *t = runs[r].table;
            int c = mbt_metrics_column(t, p->series[s]);
            for (int i = 0; c >= 0 && i < t->n_rows; i++) {
                double y = mbt_plot_point(p, t, c, i);
                if (isnan(y)) continue;
                points = 1;
                p->y_min = fmin(p->y_min, y), p->y_max = fmax(p->y_max, y);
            }
        }
        if (points) p->series[kept++] = p->series[s];
    }
    p->n_series = kept;
    p->has_points = kept > 0;
}

/* Margins around a range so that no point sits on the frame; a single value gets a window around it. */
static void pad(double *lo, double *hi, double at_least) {
    double span = *hi - *lo;
    if (span <= 0) span = fmax(fabs(*lo), at_least);
    *lo -= 0.05 * span;
    *hi += 0.05 * span;
}

void mbt_plot_panels_build(const mbt_plot_run *runs, int n_runs, mbt_plot_panel panels[MBT_PANEL_COUNT]) {
    memset(panels, 0, MBT_PANEL_COUNT * sizeof *panels);
    static const char *const titles[MBT_PANEL_COUNT] = {"loss", "learning rate", "k-NN accuracy (%)", "images/s"};
    for (int k = 0; k < MBT_PANEL_COUNT; k++) {
        panels[k].kind = (mbt_panel_kind)k;
        panels[k].title = titles[k];
    }
    loss_series(runs, n_runs, &panels[MBT_PANEL_LOSS]);
    add_series(&panels[MBT_PANEL_LR], "lr");
    for (int r = 0; r < n_runs; r++)
        for (int c = 0; c < runs[r].table->n_cols; c++)
            if (is_accuracy_column(runs[r].table->names[c])) add_series(&panels[MBT_PANEL_ACCURACY], runs[r].table->names[c]);
    add_series(&panels[MBT_PANEL_IPS], "images_per_s");
    for (int k = 0; k < MBT_PANEL_COUNT; k++) {
        mbt_plot_panel *p = &panels[k];
        measure(runs, n_runs, p);
        /* losses of several scales (Mixed BT's loss_bt and loss_reg) are only readable on a log scale */
        if (k == MBT_PANEL_LOSS && p->has_points && p->y_min > 0 && p->y_max > 20 * p->y_min) {
            p->log_y = 1;
            p->title = "loss (log scale)";
            measure(runs, n_runs, p);
        }
        if (k == MBT_PANEL_ACCURACY)
            for (int i = 0; i < p->n_series; i++)
                if (strncmp(p->series[i], "knn_", 4)) p->title = "accuracy (%)"; /* a linear probe's */
        if (!p->has_points) p->y_min = 0, p->y_max = 1;
        pad(&p->y_min, &p->y_max, p->log_y ? 0.1 : 1e-3);
    }
    /* one epoch axis for all panels, over every row of every run */
    double x_min = INFINITY, x_max = -INFINITY;
    for (int r = 0; r < n_runs; r++)
        for (int i = 0; i < runs[r].table->n_rows; i++) {
            double x = mbt_metrics_value(runs[r].table, i, mbt_metrics_column(runs[r].table, "epoch"));
            x_min = fmin(x_min, x), x_max = fmax(x_max, x);
        }
    if (!(x_min <= x_max)) x_min = 0, x_max = 1; /* no rows */
    pad(&x_min, &x_max, 0.5);
    for (int k = 0; k < MBT_PANEL_COUNT; k++) panels[k].x_min = x_min, panels[k].x_max = x_max;
}

/* The legend of the runs: three to a row below the panels. */
static double legend_height(int n_runs) { return 0.02 + 0.035 * ((n_runs + 2) / 3); }

void mbt_plot_legend_viewport(int n_runs, double vp[4]) {
    vp[0] = 0.06, vp[1] = 0.98, vp[2] = 0.005, vp[3] = legend_height(n_runs);
}

void mbt_plot_panel_viewport(mbt_panel_kind kind, int n_runs, double vp[4]) {
    double bottom = legend_height(n_runs), cell_h = (1 - bottom) / 2;
    int col = kind == MBT_PANEL_LR || kind == MBT_PANEL_IPS, row = kind == MBT_PANEL_LOSS || kind == MBT_PANEL_LR;
    double x = 0.5 * col, y = bottom + cell_h * row;
    vp[0] = x + 0.105, vp[1] = x + 0.485; /* room for the y labels on the left */
    vp[2] = y + 0.075, vp[3] = y + cell_h - 0.06; /* the x label below, the series legend above */
}

void mbt_plot_run_color(int i, unsigned char rgb[3]) {
    /* distinct on white and for most colour vision (the "Tableau 10" colours) */
    static const unsigned char palette[MBT_PLOT_PALETTE][3] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
        {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
    memcpy(rgb, palette[i % MBT_PLOT_PALETTE], 3);
}
