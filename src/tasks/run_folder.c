/* Run folders and their metrics.csv (see run_folder.h). */
#include "tasks/run_folder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic_file.h"
#include "io/make_dirs.h"
#include "io/read_file.h"

mbt_status mbt_run_folder_check(const char *dir, const char *marker, const char *holds) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, marker);
    if (access(path, F_OK) == 0) return MBT_FAIL(MBT_ERR_ARG, "--out %s already holds %s", dir, holds);
    return MBT_OK;
}

mbt_status mbt_run_folder_create(const char *dir, const char *marker, const char *holds) {
    MBT_TRY(mbt_make_dirs(dir, "--out"));
    return mbt_run_folder_check(dir, marker, holds);
}

/* Rewrites the file with its header and the rows whose epoch (first field) is <= keep_through. */
static mbt_status drop_rows_after(const char *path, const char *header, int keep_through) {
    void *data = NULL;
    size_t len;
    MBT_TRY(mbt_read_file(path, (size_t)1 << 30, &data, &len));
    char *text = data, *keep = malloc(len + 1);
    if (!keep) {
        free(data);
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t out = 0, hl = strlen(header);
    mbt_status st = MBT_OK;
    if (len < hl || memcmp(text, header, hl) != 0 || (len > hl && text[hl] != '\n'))
        st = MBT_FAIL(MBT_ERR_FORMAT, "%s: its header is not this run's (%s)", path, header);
    for (size_t at = 0; st == MBT_OK && at < len;) {
        char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) + 1 : len;
        int first = at == 0;
        char *stop = NULL;
        long epoch = first ? 0 : strtol(text + at, &stop, 10);
        /* a last line without its newline was cut short by a crash: dropped */
        if (nl && (first || (stop != text + at && *stop == ',' && epoch <= keep_through))) {
            memcpy(keep + out, text + at, end - at);
            out += end - at;
        }
        at = end;
    }
    keep[out] = 0;
    if (st == MBT_OK && out != len) st = mbt_atomic_write_text(path, keep);
    free(keep);
    free(data);
    return st;
}

mbt_status mbt_run_metrics_open(const char *dir, const char *header, int fresh, int keep_through, FILE **out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    if (!fresh && access(path, F_OK) == 0) MBT_TRY(drop_rows_after(path, header, keep_through));
    FILE *f = fopen(path, fresh ? "w" : "a");
    if (!f) return MBT_FAIL(MBT_ERR_IO, "%s: cannot open for writing (%s)", path, strerror(errno));
    if (fresh) fprintf(f, "%s\n", header);
    *out = f;
    if (fflush(f) != 0) return MBT_FAIL(MBT_ERR_IO, "%s: write failed (%s)", path, strerror(errno));
    return MBT_OK;
}

mbt_status mbt_run_metrics_row(FILE *metrics, const char *dir, const char *row) {
    if (fprintf(metrics, "%s\n", row) < 0 || fflush(metrics) != 0 || fsync(fileno(metrics)) != 0)
        return MBT_FAIL(MBT_ERR_IO, "%s/metrics.csv: write failed (%s)", dir, strerror(errno));
    return MBT_OK;
}
