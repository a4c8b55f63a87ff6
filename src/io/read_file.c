/* Whole-file and file-head reads. */
#include "io/read_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

mbt_status mbt_read_file(const char *path, size_t max_bytes, void **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return MBT_FAIL(MBT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return MBT_FAIL(MBT_ERR_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    if ((max_bytes && n > max_bytes) || (off_t)n != st.st_size || n == (size_t)-1) {
        fclose(fp);
        return MBT_FAIL(MBT_ERR_IO, "%s: file of %lld bytes is too large (limit %zu)", path, (long long)st.st_size,
                        max_bytes);
    }
    char *p = malloc(n + 1);
    if (!p) {
        fclose(fp);
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory to read %zu bytes", path, n);
    }
    size_t got = fread(p, 1, n, fp);
    int err = ferror(fp);
    fclose(fp);
    if (got != n) {
        free(p);
        return MBT_FAIL(MBT_ERR_IO, "%s: read %zu of %zu bytes%s%s", path, got, n, err ? ": " : "",
                        err ? strerror(errno) : "");
    }
    p[n] = 0;
    *buf = p;
    *len = n;
    return MBT_OK;
}

mbt_status mbt_read_file_head(const char *path, void *buf, size_t n, size_t *got) {
    *got = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return MBT_FAIL(MBT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    *got = fread(buf, 1, n, fp);
    int err = ferror(fp);
    fclose(fp);
    if (err) return MBT_FAIL(MBT_ERR_IO, "%s: read error", path);
    return MBT_OK;
}
