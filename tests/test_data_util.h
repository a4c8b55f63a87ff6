/* Helpers of the data-layer tests: a temporary folder removed at the end, writing files, and checking
 * that an error message mentions what it should. */
#ifndef MBT_TEST_DATA_UTIL_H
#define MBT_TEST_DATA_UTIL_H

#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/status.h"

/* Makes a fresh folder under $TMPDIR (or /tmp) into dir. */
static inline int tmp_folder(char *dir, size_t n, const char *tag) {
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, n, "%s/mbt_%s_XXXXXX", base, tag);
    return mkdtemp(dir) ? 0 : -1;
}

static inline int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Removes dir and everything in it (kept when MBT_KEEP_TMP is set, for inspection). */
static inline void rm_tree(const char *dir) {
    if (getenv("MBT_KEEP_TMP")) {
        printf("kept %s\n", dir);
        return;
    }
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes n bytes to dir/name (creating the folders on the way). */
static inline void write_bytes(const char *dir, const char *name, const void *data, size_t n) {
    char path[8192];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        CHECK_MSG(0, "path too long: %s/%s", dir, name);
        return;
    }
    for (char *p = path + strlen(dir) + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(path, 0777);
            *p = '/';
        }
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (!f) return;
    CHECK(fwrite(data, 1, n, f) == n);
    fclose(f);
}

/* Checks that `st` is the status `want` and the last message contains each of the given pieces. */
static inline void expect_error(int st, int want, const char *piece1, const char *piece2) {
    const char *m = mbt_error_message();
    CHECK_MSG(st == want, "status %d, expected %d (message: %s)", st, want, m);
    CHECK_MSG(strstr(m, piece1) != NULL, "message '%s' does not mention '%s'", m, piece1);
    if (piece2) CHECK_MSG(strstr(m, piece2) != NULL, "message '%s' does not mention '%s'", m, piece2);
    CHECK_MSG(strchr(m, '\n') == NULL, "message '%s' is not one line", m);
}

#endif
