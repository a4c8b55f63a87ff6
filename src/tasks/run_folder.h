/* Run folders: a command's --out folder, created or refused before any long work, and its metrics.csv,
 * one row per epoch, each on disk when written. */
#ifndef MBT_RUN_FOLDER_H
#define MBT_RUN_FOLDER_H

#include <stdio.h>

#include "core/status.h"

/* Creates `dir` (and its missing parents) for a new run. A folder that already holds dir/`marker` is
 * refused with MBT_ERR_ARG and the message "--out DIR already holds <holds>". */
mbt_status mbt_run_folder_create(const char *dir, const char *marker, const char *holds);
/* The same refusal without making anything (a command that creates the folder only once it can start). */
mbt_status mbt_run_folder_check(const char *dir, const char *marker, const char *holds);

/* Opens dir/metrics.csv for appending rows. fresh: a new file with `header` (a line without its newline).
 * Else the existing file continues: the rows of epochs after keep_through (written by a run that ended
 * before its checkpoint did) are dropped first, the header checked against `header`. */
mbt_status mbt_run_metrics_open(const char *dir, const char *header, int fresh, int keep_through, FILE **out);

/* Appends one row (without its newline) and puts it on disk (flush and fsync). */
mbt_status mbt_run_metrics_row(FILE *metrics, const char *dir, const char *row);

#endif
