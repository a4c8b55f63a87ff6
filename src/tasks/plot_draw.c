/* The curves page drawn by PLplot (Debian's libplplot with its cairo driver: pngcairo, svgcairo, pdfcairo)
 * into a memory stream. PLplot ends the process on a fatal error (plexit calls exit()); here its exit
 * handler jumps back to mbt_plot_draw instead, which returns MBT_ERR_BACKEND, so a failed plot never
 * ends a training run. */
#include "tasks/plot_draw.h"

#include <math.h>
#include <plplot.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const DEVICES[] = {"pngcairo", "svgcairo", "pdfcairo"};

/* Colour map 0: the background, the ink of axes and text, the grid, then the runs'. */
enum { COLOR_PAPER, COLOR_INK, COLOR_GRID, COLOR_FIRST_RUN, COLOR_COUNT = COLOR_FIRST_RUN + MBT_PLOT_PALETTE };

#define LABEL_SIZE 96

typedef struct {
    const mbt_plot_run *runs;
    int n_runs;
    mbt_plot_panel panels[MBT_PANEL_COUNT];
    double *xs, *ys;      /* one series' points */
    char (*run_labels)[LABEL_SIZE];
} page;

/* ---- PLplot's errors: recorded, and plexit's exit() replaced by a jump back ------------------------- */

static struct {
    jmp_buf escape;
    int armed;
    char message[256];   /* the first error PLplot reported */
    char plerror[1024];  /* plsError's buffer: set, PLplot writes its abort messages here, not to stderr */
    PLINT plcode;
} guard;

static void record(const char *msg) {
    if (guard.message[0]) return;
    snprintf(guard.message, sizeof guard.message, "%s", msg && *msg ? msg : "unknown error");
    size_t n = strlen(guard.message);
    while (n && (guard.message[n - 1] == '\n' || guard.message[n - 1] == ' ')) guard.message[--n] = 0;
}

static int on_plexit(PLCHAR_VECTOR msg) {
    record(msg);
    if (guard.armed) longjmp(guard.escape, 1);
    return 1; /* not reached while drawing */
}

static void on_plabort(PLCHAR_VECTOR msg) { record(msg); }

/* ---- text -------------------------------------------------------------------------------------------- */

/* text as PLplot shows it literally: '#' (its escape character) doubled; bytes outside printable ASCII
 * (control characters, and UTF-8 that may not be valid) shown as '?'; long text keeps its end. */
static void plot_text(const char *text, char *out, size_t size) {
    size_t n = strlen(text), o = 0;
    const char *from = text;
    if (n > size / 2 - 4) {
        from = text + n - (size / 2 - 4);
        o = (size_t)snprintf(out, size, "...");
    }
    for (const char *p = from; *p && o + 3 < size; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '#') out[o++] = '#';
        out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[o] = 0;
}

/* ---- the page ------------------------------------------------------------------------------------------- */

/* Line style of the i-th series of a panel (PLplot's 1: solid, 2-8: dashes). */
static PLINT series_style(int i) { return 1 + i % 8; }
/* Marker of the i-th series of the accuracy panel, whose points are sparse (a k-NN pass every few epochs). */
static const char *series_marker(int i) {
    static const char *const markers[] = {"●", "▲", "■", "◆"};
    return markers[i % 4];
}

static void draw_series(const page *pg, const mbt_plot_panel *p, int run, int s) {
    const mbt_metrics_table *t = pg->runs[run].table;
    int c = mbt_metrics_column(t, p->series[s]), e = mbt_metrics_column(t, "epoch"), n = 0;
    if (c < 0) return;
    for (int i = 0; i < t->n_rows; i++) {
        double y = mbt_plot_point(p, t, c, i);
        if (isnan(y)) continue;
        pg->xs[n] = mbt_metrics_value(t, i, e);
        pg->ys[n++] = y;
    }
    if (!n) return;
    plcol0(COLOR_FIRST_RUN + run % MBT_PLOT_PALETTE);
    pllsty(series_style(s));
    plwidth(2.5);
    if (n > 1) plline(n, pg->xs, pg->ys);
    pllsty(1);
    if ((p->kind == MBT_PANEL_ACCURACY && n <= 40) || n == 1) { /* markers where they are few enough to read */
        plschr(0, 0.5);
        plstring(n, pg->xs, pg->ys, series_marker(s));
        plschr(0, 0.7);
    }
}

/* The line styles of a panel of several series, in rows of up to three above its plot area (never over a
 * curve), in ink: the runs' colours are in the legend below the panels. */
static void draw_series_legend(const mbt_plot_panel *p, int n_runs) {
    PLINT opts[MBT_PANEL_MAX_SERIES], ink[MBT_PANEL_MAX_SERIES], styles[MBT_PANEL_MAX_SERIES];
    PLFLT widths[MBT_PANEL_MAX_SERIES], scales[MBT_PANEL_MAX_SERIES];
    PLINT numbers[MBT_PANEL_MAX_SERIES];
    char names[MBT_PANEL_MAX_SERIES][LABEL_SIZE];
    const char *texts[MBT_PANEL_MAX_SERIES], *markers[MBT_PANEL_MAX_SERIES];
    int accuracy = p->kind == MBT_PANEL_ACCURACY;
    for (int s = 0; s < p->n_series; s++) {
        opts[s] = PL_LEGEND_LINE | (accuracy ? PL_LEGEND_SYMBOL : 0);
        ink[s] = COLOR_INK;
        styles[s] = series_style(s);
        widths[s] = 2.0;
        scales[s] = 0.6;
        numbers[s] = 2;
        markers[s] = series_marker(s);
        plot_text(p->series[s], names[s], sizeof names[s]);
        texts[s] = names[s];
    }
    PLFLT w, h;
    double vp[4];
    mbt_plot_panel_viewport(p->kind, n_runs, vp);
    int rows = (p->n_series + 2) / 3, columns = (p->n_series + rows - 1) / rows; /* rows grow upwards */
    /* its bottom-right corner on the page (the offsets of a subpage position: from the right, from the bottom) */
    PLINT corner = PL_POSITION_SUBPAGE | PL_POSITION_INSIDE | PL_POSITION_BOTTOM | PL_POSITION_RIGHT;
    pllegend(&w, &h, PL_LEGEND_ROW_MAJOR, corner, 1 - vp[1], vp[3] + 0.002, 0.03, COLOR_PAPER, COLOR_INK, 1,
             rows, columns, p->n_series, opts, 0.5, 0.6, 2.0, 0.0, ink, texts, NULL,
             NULL, NULL, NULL, ink, styles, widths, ink, scales, numbers, markers);
}

/* Tick labels as plain numbers ("0.0015", "2000"), instead of PLplot's scaled ones with a separate
 * "(x10^-3)" that would sit on the panel's title. */
static void plain_label(PLINT axis, PLFLT value, char *label, PLINT length, PLPointer data) {
    (void)axis, (void)data;
    snprintf(label, (size_t)length, "%g", fabs(value) < 1e-12 ? 0.0 : value);
}

static void draw_panel(const page *pg, const mbt_plot_panel *p) {
    double vp[4];
    mbt_plot_panel_viewport(p->kind, pg->n_runs, vp);
    plvpor(vp[0], vp[1], vp[2], vp[3]);
    plwind(p->x_min, p->x_max, p->y_min, p->y_max);
    /* whole epochs as ticks on short runs (the default would show halves) */
    PLFLT xtick = p->x_max - p->x_min <= 12 ? 1 : 0;
    PLINT xsub = xtick ? 1 : 0;
    plcol0(COLOR_GRID);
    plwidth(1.0);
    plbox("g", xtick, xsub, p->log_y ? "gl" : "g", 0, 0);
    plcol0(COLOR_INK);
    plslabelfunc(plain_label, NULL);
    plbox("bcnsto", xtick, xsub, p->log_y ? "bcnstvl" : "bcnstvo", 0, 0);
    plslabelfunc(NULL, NULL);
    plmtex("b", 2.8, 0.5, 0.5, "epoch");
    plmtex("l", 7.4, 0.5, 0.5, p->title);
    if (!p->has_points) {
        plptex(0.5 * (p->x_min + p->x_max), 0.5 * (p->y_min + p->y_max), 1, 0, 0.5, "no values in metrics.csv");
        return;
    }
    for (int r = 0; r < pg->n_runs; r++)
        for (int s = 0; s < p->n_series; s++) draw_series(pg, p, r, s);
    if (p->n_series > 1) draw_series_legend(p, pg->n_runs);
}

/* The runs' colours and names below the panels, three to a row. */
static void draw_run_legend(const page *pg) {
    int n = pg->n_runs;
    PLINT *ints = malloc(4 * (size_t)n * sizeof *ints);
    PLFLT *widths = malloc((size_t)n * sizeof *widths);
    const char **texts = malloc((size_t)n * sizeof *texts);
    if (!ints || !widths || !texts) {
        free(ints), free(widths), free(texts);
        record("no memory for the legend");
        return;
    }
    PLINT *opts = ints, *colors = ints + n, *ink = ints + 2 * n, *styles = ints + 3 * n;
    for (int r = 0; r < n; r++) {
        opts[r] = PL_LEGEND_LINE;
        colors[r] = COLOR_FIRST_RUN + r % MBT_PLOT_PALETTE;
        ink[r] = COLOR_INK;
        styles[r] = 1;
        widths[r] = 4.0;
        texts[r] = pg->run_labels[r];
    }
    double vp[4];
    mbt_plot_legend_viewport(n, vp);
    plvpor(vp[0], vp[1], vp[2], vp[3]);
    plwind(0, 1, 0, 1);
    int columns = n < 3 ? n : 3;
    PLFLT w, h;
    pllegend(&w, &h, PL_LEGEND_ROW_MAJOR, PL_POSITION_INSIDE | PL_POSITION_TOP | PL_POSITION_LEFT, 0.0, 0.0, 0.04,
             COLOR_PAPER, COLOR_INK, 1, (n + columns - 1) / columns, columns, n, opts, 0.6, 0.7, 2.0, 0.0, ink, texts,
             NULL, NULL, NULL, NULL, colors, styles, widths, NULL, NULL, NULL, NULL);
    free(ints), free(widths), free(texts);
}

static void set_colors(void) {
    PLINT r[COLOR_COUNT] = {255, 0, 225}, g[COLOR_COUNT] = {255, 0, 225}, b[COLOR_COUNT] = {255, 0, 225};
    for (int i = 0; i < MBT_PLOT_PALETTE; i++) {
        unsigned char rgb[3];
        mbt_plot_run_color(i, rgb);
        r[COLOR_FIRST_RUN + i] = rgb[0], g[COLOR_FIRST_RUN + i] = rgb[1], b[COLOR_FIRST_RUN + i] = rgb[2];
    }
    plscmap0(r, g, b, COLOR_COUNT);
}

/* Whether PLplot has the output device (it would ask for another on stdin at plinit otherwise). */
static int has_device(const char *name) {
    const char *menus[128], *names[128];
    const char **m = menus, **d = names;
    int n = 128;
    plgDevs(&m, &d, &n);
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return 1;
    return 0;
}

/* What became of the memory stream handed to draw_guarded. */
typedef enum {
    OUT_OURS,   /* PLplot never wrote to it: the caller closes it */
    OUT_CLOSED, /* PLplot closed it (the contents are final) */
    OUT_LOST    /* PLplot failed with it in use: neither closed nor touched again (a leak, never a crash) */
} out_fate;

/* Draws pg on device into out (a memory stream). */
static mbt_status draw_guarded(const page *pg, const char *device, FILE *out, out_fate *fate) {
    volatile int stage = 0; /* 1: our stream exists, 2: out handed to it, 3: the stream ended */
    guard.message[0] = 0;
    guard.armed = 1;
    plsexit(on_plexit);
    plsabort(on_plabort);
    if (!setjmp(guard.escape)) {
        PLINT stream;
        plmkstrm(&stream); /* our own stream: stream 0 and its settings stay as they are */
        if (stream < 0) longjmp(guard.escape, 1);
        stage = 1;
        plsError(&guard.plcode, guard.plerror);
        if (!has_device(device)) {
            char why[sizeof guard.message];
            snprintf(why, sizeof why, "%s", guard.message);
            snprintf(guard.message, sizeof guard.message,
                     "no '%s' output device (Debian package plplot-driver-cairo)%s%.150s", device, why[0] ? ": " : "",
                     why);
        } else {
            plsdev(device);
            plsfile(out);
            stage = 2;
            plspage(0, 0, MBT_PLOT_WIDTH, MBT_PLOT_HEIGHT, 0, 0);
            plspause(0);
            set_colors();
            plinit();
            pladv(0);
            plschr(0, 0.7);
            for (int k = 0; k < MBT_PANEL_COUNT; k++) draw_panel(pg, &pg->panels[k]);
            draw_run_legend(pg);
            plend1(); /* writes the file (cairo: at the end of the page and when the surface goes) */
            stage = 3;
        }
    } else if (!guard.message[0]) {
        record("PLplot could not make a stream");
    }
    *fate = stage == 3 ? OUT_CLOSED : OUT_OURS;
    if (stage == 1 || stage == 2) { /* stopped before the end: end our stream, once more guarded */
        PLINT level = 0;
        plglevel(&level);
        if (level > 0) *fate = OUT_LOST; /* the device has out: plend1 closes it, unless it fails again */
        else plsfile(NULL);             /* the device never started and will not close out */
        if (!setjmp(guard.escape)) {
            plend1();
            if (level > 0) *fate = OUT_CLOSED;
        }
        plsstrm(0);
    }
    guard.armed = 0;
    plsexit(NULL);
    plsabort(NULL);
    if (guard.message[0]) return MBT_FAIL(MBT_ERR_BACKEND, "PLplot: %s", guard.message);
    return MBT_OK;
}

mbt_status mbt_plot_draw(const mbt_plot_run *runs, int n_runs, mbt_plot_format format, char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    MBT_CHECK_ARG(n_runs >= 1 && (int)format >= 0 && format <= MBT_PLOT_PDF, "plot: no run, or an unknown format");
    int max_rows = 1;
    for (int r = 0; r < n_runs; r++)
        if (runs[r].table->n_rows > max_rows) max_rows = runs[r].table->n_rows;
    page pg = {.runs = runs, .n_runs = n_runs};
    pg.xs = malloc(2 * (size_t)max_rows * sizeof *pg.xs);
    pg.run_labels = malloc((size_t)n_runs * sizeof *pg.run_labels);
    char *buf = NULL;
    size_t size = 0;
    FILE *out = pg.xs && pg.run_labels ? open_memstream(&buf, &size) : NULL;
    if (!out) {
        free(pg.xs);
        free(pg.run_labels);
        return MBT_FAIL(MBT_ERR_NOMEM, "plot: no memory for %d rows of %d runs", max_rows, n_runs);
    }
    pg.ys = pg.xs + max_rows;
    for (int r = 0; r < n_runs; r++) plot_text(runs[r].label, pg.run_labels[r], LABEL_SIZE);
    mbt_plot_panels_build(runs, n_runs, pg.panels);
    out_fate fate;
    mbt_status st = draw_guarded(&pg, DEVICES[format], out, &fate);
    if (fate == OUT_OURS) fclose(out);
    if (fate == OUT_LOST) buf = NULL; /* still the stream's */
    free(pg.xs);
    free(pg.run_labels);
    if (st == MBT_OK && size == 0) st = MBT_FAIL(MBT_ERR_BACKEND, "PLplot's %s device wrote nothing", DEVICES[format]);
    if (st != MBT_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    *len = size;
    return MBT_OK;
}
