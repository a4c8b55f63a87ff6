/* The display of a pretraining's events (tasks/pretrain.h): a live line on a terminal, plain lines at a
 * modest interval in a log. */
#ifndef MBT_CLI_PRETRAIN_PROGRESS_H
#define MBT_CLI_PRETRAIN_PROGRESS_H

#include <stdio.h>

#include "tasks/pretrain.h"

typedef struct {
    FILE *out;
    int tty;
    int print_every;     /* off a terminal: a step line every this many steps */
    double interval;     /* off a terminal: and at least every this many seconds (0: every step / batch) */
    double last_line;    /* when the last step or pass line was printed */
    int line_open;       /* a terminal's live line is showing and must be ended before other text */
} pretrain_progress;

/* An observer that shows the events on `out` (whose terminal-ness decides the form). */
mbt_pretrain_observer pretrain_progress_make(pretrain_progress *p, FILE *out, int print_every, double interval);

#endif
