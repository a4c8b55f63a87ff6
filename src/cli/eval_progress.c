/* Progress lines of the evaluation commands (see eval_progress.h). */
#include "cli/eval_progress.h"

#include <string.h>

static void on_progress(void *ctx, const char *stage, int64_t done, int64_t total) {
    eval_progress *ep = ctx;
    if (done == 0 || strcmp(stage, ep->stage) != 0) {
        snprintf(ep->stage, sizeof ep->stage, "%s", stage);
        progress_init(&ep->p, ep->out, ep->stage, (long)total, progress_interval());
    }
    if (done >= total) {
        ep->p.done = (long)done;
        progress_finish(&ep->p, "images");
        ep->stage[0] = 0;
    } else if (done > 0) {
        progress_update(&ep->p, (long)done, "images");
    }
}

mbt_eval_progress eval_progress_make(eval_progress *ep, FILE *out) {
    memset(ep, 0, sizeof *ep);
    ep->out = out;
    mbt_eval_progress prog = {on_progress, ep};
    return prog;
}
