/* Shows a pretraining's events (see pretrain_progress.h). */
#include "cli/pretrain_progress.h"

#include <string.h>
#include <unistd.h>

#include "core/runtime.h"
#include "tasks/method.h"

/* Ends a terminal's live line before a line of other text. */
static void end_live_line(pretrain_progress *p) {
    if (p->line_open) fputc('\n', p->out);
    p->line_open = 0;
}

static void step_line(pretrain_progress *p, const mbt_pretrain_event *e, double now) {
    /* a terminal: at most two redraws a second; a log: every print_every steps or interval seconds;
       both: the epoch's last step */
    int due = p->tty ? now - p->last_line > 0.5
                     : (p->print_every > 0 && e->step % p->print_every == 0) || now - p->last_line >= p->interval;
    if (!due && !e->last_of_epoch) return;
    char parts[160];
    mbt_method_values_text(e->value_names, e->values, e->n_values, " ", "%.4f", parts, sizeof parts);
    fprintf(p->out, "%sepoch %d/%d  step %lld/%lld  loss %.4f%s  lr %.3g  %.1f img/s  eta %.0fs%s",
            p->tty ? "\r\033[K" : "", e->epoch, e->epochs, (long long)e->batch, (long long)e->batches, e->loss, parts, e->lr,
            e->images_per_s, e->eta_s, p->tty ? "" : "\n");
    fflush(p->out);
    p->line_open = p->tty;
    p->last_line = now;
}

/* A long pass: off a terminal, a line when it begins (what it extracts) and then now and then; a
 * terminal keeps its display as it was (the training line only). */
static void pass_line(pretrain_progress *p, const mbt_pretrain_event *e, double now) {
    if (p->tty) return;
    if (e->done == 0) {
        if (e->detail) fprintf(p->out, "%s: %s\n", e->text, e->detail);
        p->last_line = now;
    } else if (now - p->last_line >= p->interval) {
        fprintf(p->out, "%s: %lld/%lld images  %.1f img/s  eta %.0fs\n", e->text, (long long)e->done, (long long)e->total,
                e->images_per_s, e->eta_s);
        p->last_line = now;
    }
    fflush(p->out);
}

static void on_event(const mbt_pretrain_event *e, void *ctx) {
    pretrain_progress *p = ctx;
    double now = mbt_now();
    switch (e->kind) {
    case MBT_PRETRAIN_NOTE:
        end_live_line(p);
        fprintf(p->out, "%s\n", e->text);
        fflush(p->out);
        break;
    case MBT_PRETRAIN_STEP: step_line(p, e, now); break;
    case MBT_PRETRAIN_EPOCH_END: /* the next epoch's lines are timed from its start */
        end_live_line(p);
        p->last_line = now;
        break;
    case MBT_PRETRAIN_PASS: pass_line(p, e, now); break;
    }
}

mbt_pretrain_observer pretrain_progress_make(pretrain_progress *p, FILE *out, int print_every, double interval) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = isatty(fileno(out));
    p->print_every = print_every;
    p->interval = interval;
    p->last_line = mbt_now();
    return (mbt_pretrain_observer){on_event, p};
}
