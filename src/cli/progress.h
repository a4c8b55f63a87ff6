/* Progress display: a live line with rate and ETA on a terminal, periodic plain lines otherwise. */
#ifndef MBT_CLI_PROGRESS_H
#define MBT_CLI_PROGRESS_H

#include <stdio.h>

typedef struct {
    FILE *out;
    int tty;
    double start, last_print;
    double interval;   /* seconds between plain lines when not a terminal */
    long total, done;
    const char *label;
} progress;

void progress_init(progress *p, FILE *out, const char *label, long total, double interval);
/* Reports `done` units finished with an extra text (e.g. "loss 1.234"); prints when due. */
void progress_update(progress *p, long done, const char *extra);
/* Ends the live line (prints a final line with the total time). */
void progress_finish(progress *p, const char *extra);
/* Seconds between plain progress lines of long passes off a terminal: MIXBT_PROGRESS_SECONDS (0: after
 * every batch), else 30. */
double progress_interval(void);
/* 0 if MIXBT_PROGRESS_SECONDS is unset or a number >= 0; else prints a one-line error to err, -1. */
int progress_interval_check(FILE *err);
/* "1h02m" / "3m07s" / "12s" */
void progress_format_duration(double seconds, char *buf, int size);

#endif
