/* Atomic file replacement (temporary file, fsync, rename, directory fsync). */
#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint tmp_counter;

char *mbt_atomic_tmp_name(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(path) + 64;
    char *tmp = malloc(n);
    if (!tmp) return NULL;
    snprintf(tmp, n, "%.*s.%s.tmp.%ld.%u", (int)dirlen, path, base, (long)getpid(),
             atomic_fetch_add(&tmp_counter, 1));
    return tmp;
}

static mbt_status fsync_dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return MBT_FAIL(MBT_ERR_IO, "%s: cannot open directory %s to sync it: %s", path, dir, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    /* Some file systems do not support fsync on directories (EINVAL); the rename is still done. */
    if (r && e != EINVAL && e != EROFS)
        return MBT_FAIL(MBT_ERR_IO, "%s: cannot sync directory %s: %s", path, dir, strerror(e));
    return MBT_OK;
}

mbt_status mbt_atomic_open(mbt_atomic_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    MBT_CHECK_ARG(path && *path, "atomic write: empty output path");
    f->path = strdup(path);
    f->tmp = mbt_atomic_tmp_name(path);
    if (!f->path || !f->tmp) {
        free(f->path);
        free(f->tmp);
        memset(f, 0, sizeof *f);
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the temporary file name", path);
    }
    int fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        mbt_status s = MBT_FAIL(MBT_ERR_IO, "%s: cannot create temporary file %s: %s", path, f->tmp, strerror(errno));
        free(f->path);
        free(f->tmp);
        memset(f, 0, sizeof *f);
        return s;
    }
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        close(fd);
        unlink(f->tmp);
        free(f->path);
        free(f->tmp);
        memset(f, 0, sizeof *f);
        return MBT_FAIL(MBT_ERR_IO, "%s: cannot open temporary file: %s", path, strerror(errno));
    }
    return MBT_OK;
}

mbt_status mbt_atomic_write(mbt_atomic_file *f, const void *data, size_t n) {
    if (!f->fp) return MBT_FAIL(MBT_ERR_IO, "atomic write: file is not open");
    if (n && fwrite(data, 1, n, f->fp) != n)
        return MBT_FAIL(MBT_ERR_IO, "%s: write of %zu bytes failed: %s", f->path, n, strerror(errno));
    return MBT_OK;
}

void mbt_atomic_abort(mbt_atomic_file *f) {
    if (f->fp) fclose(f->fp);
    if (f->tmp) unlink(f->tmp);
    free(f->path);
    free(f->tmp);
    memset(f, 0, sizeof *f);
}

mbt_status mbt_atomic_publish(const char *tmp, const char *path) {
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return MBT_FAIL(MBT_ERR_IO, "%s: cannot reopen temporary file %s: %s", path, tmp, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r) return MBT_FAIL(MBT_ERR_IO, "%s: fsync failed: %s", path, strerror(e));
    if (rename(tmp, path))
        return MBT_FAIL(MBT_ERR_IO, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
    return fsync_dir_of(path);
}

mbt_status mbt_atomic_commit(mbt_atomic_file *f) {
    if (!f->fp) return MBT_FAIL(MBT_ERR_IO, "atomic write: file is not open");
    mbt_status s = MBT_OK;
    if (fflush(f->fp)) s = MBT_FAIL(MBT_ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
    else if (fsync(fileno(f->fp))) s = MBT_FAIL(MBT_ERR_IO, "%s: fsync failed: %s", f->path, strerror(errno));
    if (fclose(f->fp) && !s) s = MBT_FAIL(MBT_ERR_IO, "%s: close failed: %s", f->path, strerror(errno));
    f->fp = NULL;
    if (!s) {
        if (rename(f->tmp, f->path))
            s = MBT_FAIL(MBT_ERR_IO, "%s: cannot rename %s over it: %s", f->path, f->tmp, strerror(errno));
        else {
            free(f->tmp);
            f->tmp = NULL; /* nothing to remove any more */
            s = fsync_dir_of(f->path);
        }
    }
    mbt_atomic_abort(f);
    return s;
}

mbt_status mbt_atomic_write_text(const char *path, const char *text) {
    mbt_atomic_file f;
    MBT_TRY(mbt_atomic_open(&f, path));
    size_t n = strlen(text);
    mbt_status st = mbt_atomic_write(&f, text, n);
    if (st == MBT_OK && (n == 0 || text[n - 1] != '\n')) st = mbt_atomic_write(&f, "\n", 1);
    if (st != MBT_OK) {
        mbt_atomic_abort(&f);
        return st;
    }
    return mbt_atomic_commit(&f);
}
