/* Plots of runs: each run folder's metrics.csv read, the curves page drawn (tasks/plot_draw.c) and written
 * atomically. */
#include "tasks/plot_run.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/atomic_file.h"
#include "io/metrics_csv.h"

mbt_status mbt_plot_format_of(const char *out, mbt_plot_format *format) {
    static const char *const EXTENSIONS[] = {".png", ".svg", ".pdf"};
    size_t n = strlen(out);
    for (int i = 0; i < 3; i++)
        if (n > 4 && out[n - 5] != '/' && !strcasecmp(out + n - 4, EXTENSIONS[i])) {
            *format = (mbt_plot_format)i;
            return MBT_OK;
        }
    return MBT_FAIL(MBT_ERR_ARG, "'%s' does not end in .png, .svg or .pdf (the file type of the plot)", out);
}

/* A run's name in the legend: its folder as given, without trailing slashes. */
static char *run_label(const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    return strndup(dir, n);
}

static mbt_status write_atomically(const char *path, const char *data, size_t len) {
    mbt_atomic_file f;
    MBT_TRY(mbt_atomic_open(&f, path));
    mbt_status st = mbt_atomic_write(&f, data, len);
    if (st != MBT_OK) {
        mbt_atomic_abort(&f);
        return st;
    }
    return mbt_atomic_commit(&f);
}

mbt_status mbt_plot_runs(const char *const *dirs, int n_dirs, const char *out) {
    MBT_CHECK_ARG(n_dirs >= 1, "plot: no run folder given");
    mbt_plot_format format;
    MBT_TRY(mbt_plot_format_of(out, &format));
    mbt_metrics_table *tables = calloc((size_t)n_dirs, sizeof *tables);
    mbt_plot_run *runs = calloc((size_t)n_dirs, sizeof *runs);
    mbt_status st = tables && runs ? MBT_OK : MBT_FAIL(MBT_ERR_NOMEM, "plot: no memory for %d runs", n_dirs);
    for (int i = 0; st == MBT_OK && i < n_dirs; i++) {
        size_t n = strlen(dirs[i]) + sizeof "/metrics.csv";
        char *path = malloc(n);
        runs[i].label = run_label(dirs[i]);
        runs[i].table = &tables[i];
        if (!path || !runs[i].label) st = MBT_FAIL(MBT_ERR_NOMEM, "plot: no memory for the run %s", dirs[i]);
        else snprintf(path, n, "%s/metrics.csv", dirs[i]);
        if (st == MBT_OK) st = mbt_metrics_csv_read(path, &tables[i]);
        free(path);
    }
    char *data = NULL;
    size_t len = 0;
    if (st == MBT_OK) st = mbt_plot_draw(runs, n_dirs, format, &data, &len);
    if (st == MBT_OK) st = write_atomically(out, data, len);
    free(data);
    for (int i = 0; runs && tables && i < n_dirs; i++) {
        free((char *)runs[i].label);
        mbt_metrics_table_free(&tables[i]);
    }
    free(runs);
    free(tables);
    return st;
}

mbt_status mbt_plot_refresh_run(const char *dir) {
    size_t n = strlen(dir) + sizeof "/curves.png";
    char *out = malloc(n);
    if (!out) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the name of curves.png", dir);
    snprintf(out, n, "%s/curves.png", dir);
    mbt_status st = mbt_plot_runs(&dir, 1, out);
    free(out);
    return st;
}
