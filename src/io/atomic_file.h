/* Atomic file replacement: write a temporary file in the target's directory, fsync it, rename it over
 * the target and fsync the directory, so that a crash leaves either the old or the new file. */
#ifndef MBT_ATOMIC_FILE_H
#define MBT_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "core/status.h"

typedef struct {
    FILE *fp;     /* the temporary file, open for writing */
    char *path;   /* the final path */
    char *tmp;    /* the temporary path (same directory) */
} mbt_atomic_file;

/* Creates a new temporary file next to `path` (mode 0666 minus the umask). */
mbt_status mbt_atomic_open(mbt_atomic_file *f, const char *path);
/* Appends n bytes; MBT_ERR_IO naming the final path on a short write. */
mbt_status mbt_atomic_write(mbt_atomic_file *f, const void *data, size_t n);
/* Flushes, fsyncs and closes the temporary file, renames it to the final path and fsyncs the
 * directory. On failure the temporary file is removed. Always releases f. */
mbt_status mbt_atomic_commit(mbt_atomic_file *f);
/* Closes and removes the temporary file (no-op after commit). */
void mbt_atomic_abort(mbt_atomic_file *f);

/* Writes `text` and a final newline (when it has none) to path atomically: open, write, commit. */
mbt_status mbt_atomic_write_text(const char *path, const char *text);

/* A fresh temporary name next to path (".<name>.tmp.<pid>.<n>"); malloc'ed, or NULL. */
char *mbt_atomic_tmp_name(const char *path);
/* fsyncs an existing file, renames it to path, fsyncs path's directory. */
mbt_status mbt_atomic_publish(const char *tmp, const char *path);

#endif
