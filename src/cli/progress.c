/* Terminal progress lines with throughput and estimated time left. */
#include "cli/progress.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/runtime.h"

/* The value of MIXBT_PROGRESS_SECONDS if it is a finite number >= 0; -1 if malformed; 30 if unset. */
static double parse_interval(void) {
    const char *v = getenv("MIXBT_PROGRESS_SECONDS");
    if (!v) return 30.0;
    char *end;
    double s = strtod(v, &end);
    return end != v && !*end && isfinite(s) && s >= 0 ? s : -1;
}

int progress_interval_check(FILE *err) {
    if (parse_interval() >= 0) return 0;
    fprintf(err, "mixbt: MIXBT_PROGRESS_SECONDS='%s': expected seconds between progress lines, a number >= 0\n",
            getenv("MIXBT_PROGRESS_SECONDS"));
    return -1;
}

double progress_interval(void) {
    double s = parse_interval();
    return s >= 0 ? s : 30.0; /* 0: a line after every batch; malformed: refused by main first */
}

void progress_format_duration(double s, char *buf, int size) {
    if (s < 0 || s != s) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, (size_t)size, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(buf, (size_t)size, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, (size_t)size, "%lds", t);
}

void progress_init(progress *p, FILE *out, const char *label, long total, double interval) {
    p->out = out;
    p->tty = isatty(fileno(out));
    p->start = mbt_now();
    p->last_print = p->start;
    p->interval = interval;
    p->total = total;
    p->done = 0;
    p->label = label;
}

static void print_line(progress *p, const char *extra, int final) {
    double now = mbt_now(), elapsed = now - p->start;
    double rate = elapsed > 0 ? p->done / elapsed : 0;
    char eta[32], el[32];
    progress_format_duration(rate > 0 ? (p->total - p->done) / rate : 0, eta, sizeof eta);
    progress_format_duration(elapsed, el, sizeof el);
    if (p->tty) fprintf(p->out, "\r\033[K");
    fprintf(p->out, "%s %ld/%ld  %s  %.1f/s  %s %s", p->label, p->done, p->total, extra ? extra : "", rate,
            final ? "in" : "eta", final ? el : eta);
    if (!p->tty || final) fputc('\n', p->out);
    fflush(p->out);
    p->last_print = now;
}

void progress_update(progress *p, long done, const char *extra) {
    p->done = done;
    double now = mbt_now();
    if (p->tty ? now - p->last_print >= 0.2 : now - p->last_print >= p->interval) print_line(p, extra, 0);
}

void progress_finish(progress *p, const char *extra) { print_line(p, extra, 1); }
