/* `mixbt download`: fetch a dataset's official files, check their MD5s and unpack them. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/progress.h"
#include "cli/signals.h"
#include "core/runtime.h"
#include "core/status.h"
#include "core/stop.h"
#include "io/dataset_install.h"
#include "io/dataset_source.h"

/* The progress display: a live line on a terminal, a plain line every 10 s otherwise. */
typedef struct {
    FILE *out;
    int tty;
    int live;            /* a live line is on screen */
    mbt_fetch_phase phase;
    char file[256];
    double t0, last;
} display;

static const char *verb(mbt_fetch_phase p, int done) {
    switch (p) {
    case MBT_FETCH_DOWNLOAD: return done ? "downloaded" : "downloading";
    case MBT_FETCH_VERIFY: return done ? "checked" : "checking";
    case MBT_FETCH_UNPACK: return done ? "unpacked" : "unpacking";
    }
    return "";
}

static void clear_live(display *d) {
    if (d->live) fputs("\r\033[K", d->out);
    d->live = 0;
}

static void on_note(void *ctx, const char *text) {
    display *d = ctx;
    clear_live(d);
    fprintf(d->out, "%s\n", text);
    fflush(d->out);
}

static int on_progress(void *ctx, const mbt_fetch_event *ev) {
    display *d = ctx;
    if (mbt_stop_signal()) return 1; /* SIGINT / SIGTERM: cancel (a download resumes from its .partial) */
    double now = mbt_now();
    if (ev->phase != d->phase || strncmp(ev->file, d->file, sizeof d->file - 1) || d->t0 == 0) {
        d->phase = ev->phase;
        snprintf(d->file, sizeof d->file, "%s", ev->file);
        d->t0 = now;
        /* Off a terminal, a phase shows up after 2 s (then every 10 s), so quick ones take one line. */
        d->last = d->tty ? 0 : now - 8.0;
    }
    if (!ev->finished && now - d->last < (d->tty ? 0.25 : 10.0)) return 0;
    d->last = now;
    double elapsed = now - d->t0, rate = elapsed > 0 ? (ev->done - ev->start) / elapsed : 0;
    char amount[64], tail[64] = "", dur[32];
    if (ev->total > 0)
        snprintf(amount, sizeof amount, "%.1f/%.1f MB %3.0f%%", ev->done / 1e6, ev->total / 1e6, 100.0 * ev->done / ev->total);
    else snprintf(amount, sizeof amount, "%.1f MB", ev->done / 1e6);
    if (ev->finished) {
        progress_format_duration(elapsed, dur, sizeof dur);
        snprintf(tail, sizeof tail, "in %s", dur);
    } else if (ev->total > 0 && rate > 0) {
        progress_format_duration((ev->total - ev->done) / rate, dur, sizeof dur);
        snprintf(tail, sizeof tail, "eta %s", dur);
    }
    clear_live(d);
    fprintf(d->out, "%s %s  %s  %.1f MB/s  %s", verb(ev->phase, ev->finished), ev->file, amount, rate / 1e6, tail);
    if (d->tty && !ev->finished) d->live = 1;
    else fputc('\n', d->out);
    fflush(d->out);
    return 0;
}

static void list_catalog(const mbt_source_catalog *cat) {
    for (int i = 0; i < cat->count; i++) {
        const mbt_dataset_source *s = &cat->items[i];
        printf("%s: %s\n", s->name, s->title);
        for (int f = 0; f < s->n_files; f++) {
            const mbt_source_file *sf = &s->files[f];
            printf("  %s  md5 %s  -> %s%s\n", sf->name, sf->md5, sf->unpack == MBT_UNPACK_ARCHIVE ? "unpacked into " : "",
                   sf->unpack == MBT_UNPACK_ARCHIVE && !strcmp(sf->dest, ".") ? "DIR" : sf->dest);
            for (int u = 0; u < sf->n_urls; u++) printf("    %s\n", sf->urls[u]);
        }
        for (int e = 0; e < s->n_expect; e++) printf("  gives DIR/%s\n", s->expect[e]);
    }
}

int cmd_download(int argc, char **argv) {
    const char *data = NULL, *from = NULL;
    int force = 0, keep = 0, list = 0, retries = 3;
    flag flags[] = {
        {"data", FLAG_STRING, &data, NULL, "DIR", "data folder to install into (created if needed; required)", 0, 0, -1},
        {"from", FLAG_STRING, &from, NULL, "PATH", "install from a local copy instead of downloading: the archive, or a folder holding the published files", 0, 0, -1},
        {"force", FLAG_BOOL, &force, NULL, NULL, "install again even when the data is present and verified", 0, 0, -1},
        {"keep-archives", FLAG_BOOL, &keep, NULL, NULL, "keep downloaded archives in DIR after unpacking", 0, 0, -1},
        {"retries", FLAG_INT, &retries, NULL, "N", "further attempts at a URL after a broken connection that made progress", 0, 0, 100},
        {"list", FLAG_BOOL, &list, NULL, NULL, "list the datasets with their files, checksums and URLs", 0, 0, -1},
    };
    int n = (int)(sizeof flags / sizeof *flags);
    const char *pos[1];
    int npos = 0;
    int rc = flags_parse("download", flags, n, argc, argv, 2, pos, 1, &npos);
    mbt_source_catalog cat;
    mbt_status st = mbt_source_catalog_load(&cat);
    if (st != MBT_OK) {
        fprintf(stderr, "mixbt download: %s\n", mbt_error_message());
        return 1;
    }
    char names[256] = "";
    for (int i = 0; i < cat.count; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", cat.items[i].name);
    if (rc == 1) {
        char summary[1024];
        snprintf(summary, sizeof summary,
                 "Downloads DATASET (%s)\n"
                 "from its official source, checks the published MD5 checksums and unpacks it into DIR\n"
                 "in the layout `mixbt pretrain --data DIR` reads.\n"
                 "An interrupted download resumes from DIR/NAME.partial when run again; data already\n"
                 "installed and intact is left alone. Offline: copy the archive over and use --from.",
                 names);
        flags_print_help("download", "DATASET --data DIR [--from PATH]", summary, flags, n);
        mbt_source_catalog_free(&cat);
        return 0;
    }
    if (rc) {
        mbt_source_catalog_free(&cat);
        return rc;
    }
    if (list) {
        list_catalog(&cat);
        mbt_source_catalog_free(&cat);
        return 0;
    }
    const mbt_dataset_source *src = npos ? mbt_source_catalog_find(&cat, pos[0]) : NULL;
    if (!npos || !src || !data) {
        if (!npos) fprintf(stderr, "mixbt download: which dataset? (one of: %s)\n", names);
        else if (!src) fprintf(stderr, "mixbt download: unknown dataset '%s' (one of: %s)\n", pos[0], names);
        else fprintf(stderr, "mixbt download: --data DIR is required (the folder to install %s into)\n", src->name);
        mbt_source_catalog_free(&cat);
        return 2;
    }
    display d = {.out = stdout, .tty = isatty(fileno(stdout)), .phase = MBT_FETCH_DOWNLOAD};
    mbt_install_options opt = {.from = from, .force = force, .keep_archives = keep, .retries = retries};
    opt.cb = (mbt_fetch_callbacks){.ctx = &d, .note = on_note, .progress = on_progress};
    int already = 0;
    signals_install();
    st = mbt_dataset_install(src, data, &opt, &already);
    clear_live(&d);
    fflush(stdout);
    if (st == MBT_ERR_INTERRUPTED && mbt_stop_signal())
        fprintf(stderr, "mixbt download: stopped by %s: %s\n", mbt_stop_signal_name(mbt_stop_signal()),
                mbt_error_message());
    else if (st != MBT_OK) fprintf(stderr, "mixbt download: %s\n", mbt_error_message());
    mbt_source_catalog_free(&cat);
    return st == MBT_OK ? 0 : st == MBT_ERR_INTERRUPTED ? 130 : 1;
}
