/* Reading a run's metrics.csv (written by mixbt pretrain) into a table of numbers by column name. */
#ifndef MBT_METRICS_CSV_H
#define MBT_METRICS_CSV_H

#include "core/status.h"

#define MBT_METRICS_MAX_COLUMNS 64

/* The header's column names in file order, and one row of values per data line. An empty cell is NAN
 * (e.g. knn_top1 on an epoch without a k-NN pass); the columns are whatever the header names. */
typedef struct {
    int n_cols;
    char *names[MBT_METRICS_MAX_COLUMNS];
    int n_rows;
    double *values; /* [n_rows][n_cols] */
} mbt_metrics_table;

/* Reads path. The header must name each column once, with "epoch" among them; every data line must have
 * as many cells as the header, each empty or a number, and the epoch cell must not be empty. Empty lines
 * are skipped. MBT_ERR_IO when the file cannot be read, MBT_ERR_FORMAT naming the file and line and what
 * is wrong otherwise. On failure t is left empty. */
mbt_status mbt_metrics_csv_read(const char *path, mbt_metrics_table *t);
void mbt_metrics_table_free(mbt_metrics_table *t);

/* The index of the column called name, or -1. */
int mbt_metrics_column(const mbt_metrics_table *t, const char *name);
/* The value at row r of column c (c < 0: NAN). */
double mbt_metrics_value(const mbt_metrics_table *t, int r, int c);

#endif
