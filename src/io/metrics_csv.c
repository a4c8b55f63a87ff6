/* Reading a run's metrics.csv into a table of numbers by column name. */
#include "io/metrics_csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/read_file.h"

#define METRICS_MAX_BYTES ((size_t)256 << 20) /* far above any run's: one short line per epoch */

void mbt_metrics_table_free(mbt_metrics_table *t) {
    for (int i = 0; i < t->n_cols; i++) free(t->names[i]);
    free(t->values);
    memset(t, 0, sizeof *t);
}

int mbt_metrics_column(const mbt_metrics_table *t, const char *name) {
    for (int i = 0; i < t->n_cols; i++)
        if (!strcmp(t->names[i], name)) return i;
    return -1;
}

double mbt_metrics_value(const mbt_metrics_table *t, int r, int c) {
    return c < 0 ? NAN : t->values[(size_t)r * t->n_cols + c];
}

/* Splits line (modified in place) at commas into cells[]; returns the count, or max + 1 when more. */
static int split_cells(char *line, char **cells, int max) {
    int n = 0;
    for (char *p = line;;) {
        if (n == max) return max + 1;
        cells[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma) return n;
        *comma = 0;
        p = comma + 1;
    }
}

static mbt_status read_header(const char *path, char *line, mbt_metrics_table *t) {
    char *cells[MBT_METRICS_MAX_COLUMNS];
    int n = split_cells(line, cells, MBT_METRICS_MAX_COLUMNS);
    if (n > MBT_METRICS_MAX_COLUMNS)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s:1: more than %d columns in the header", path, MBT_METRICS_MAX_COLUMNS);
    for (int i = 0; i < n; i++) {
        if (!*cells[i]) return MBT_FAIL(MBT_ERR_FORMAT, "%s:1: column %d of the header has no name", path, i + 1);
        if (mbt_metrics_column(t, cells[i]) >= 0)
            return MBT_FAIL(MBT_ERR_FORMAT, "%s:1: column '%s' named twice in the header", path, cells[i]);
        t->names[i] = strdup(cells[i]);
        if (!t->names[i]) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the header", path);
        t->n_cols = i + 1;
    }
    if (mbt_metrics_column(t, "epoch") < 0)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s:1: the header has no 'epoch' column (is this a mixbt metrics.csv?)", path);
    return MBT_OK;
}

/* One data line into row[]; lineno for messages. */
static mbt_status read_row(const char *path, int lineno, char *line, const mbt_metrics_table *t, double *row) {
    char *cells[MBT_METRICS_MAX_COLUMNS];
    int n = split_cells(line, cells, t->n_cols);
    if (n != t->n_cols)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s:%d: %s%d cells, the header has %d columns", path, lineno,
                        n > t->n_cols ? "more than " : "", n > t->n_cols ? t->n_cols : n, t->n_cols);
    for (int i = 0; i < n; i++) {
        if (!*cells[i]) {
            row[i] = NAN;
            continue;
        }
        char *end;
        row[i] = strtod(cells[i], &end);
        if (end == cells[i] || *end)
            return MBT_FAIL(MBT_ERR_FORMAT, "%s:%d: column '%s': '%.40s' is not a number", path, lineno, t->names[i],
                            cells[i]);
    }
    int e = mbt_metrics_column(t, "epoch");
    if (isnan(row[e])) return MBT_FAIL(MBT_ERR_FORMAT, "%s:%d: the epoch cell is empty", path, lineno);
    return MBT_OK;
}

static mbt_status parse(const char *path, char *text, size_t len, mbt_metrics_table *t) {
    if (memchr(text, 0, len)) return MBT_FAIL(MBT_ERR_FORMAT, "%s: a NUL byte: not a text file", path);
    int rows_capacity = 0, lineno = 0, have_header = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        lineno++;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r') line[--n] = 0;
        if (n) {
            if (!have_header) {
                MBT_TRY(read_header(path, line, t));
                have_header = 1;
            } else {
                if (t->n_rows == rows_capacity) {
                    rows_capacity = rows_capacity ? 2 * rows_capacity : 64;
                    double *v = realloc(t->values, (size_t)rows_capacity * t->n_cols * sizeof *v);
                    if (!v) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for %d rows", path, rows_capacity);
                    t->values = v;
                }
                MBT_TRY(read_row(path, lineno, line, t, t->values + (size_t)t->n_rows * t->n_cols));
                t->n_rows++;
            }
        }
        line = next;
    }
    if (!have_header) return MBT_FAIL(MBT_ERR_FORMAT, "%s: empty, no header line", path);
    return MBT_OK;
}

mbt_status mbt_metrics_csv_read(const char *path, mbt_metrics_table *t) {
    memset(t, 0, sizeof *t);
    void *buf;
    size_t len;
    MBT_TRY(mbt_read_file(path, METRICS_MAX_BYTES, &buf, &len));
    mbt_status st = parse(path, buf, len, t);
    free(buf);
    if (st != MBT_OK) mbt_metrics_table_free(t);
    return st;
}
