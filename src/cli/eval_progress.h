/* Progress display of the evaluation commands: adapts mbt_eval_progress to the progress lines. */
#ifndef MBT_CLI_EVAL_PROGRESS_H
#define MBT_CLI_EVAL_PROGRESS_H

#include <stdio.h>

#include "cli/progress.h"
#include "tasks/evaluate.h"

typedef struct {
    progress p;
    FILE *out;
    char stage[64];
} eval_progress;

/* A callback that starts a progress line per stage ("bank", "test", "epoch 3/200") and ends it when
 * the stage's last images are done. */
mbt_eval_progress eval_progress_make(eval_progress *ep, FILE *out);

#endif
