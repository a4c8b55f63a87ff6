/* Reading whole files (and their first bytes) into memory with clear errors. */
#ifndef MBT_READ_FILE_H
#define MBT_READ_FILE_H

#include <stddef.h>

#include "core/status.h"

/* Reads all of path into a malloc'ed buffer (*buf, *len; one extra NUL byte after the end).
 * MBT_ERR_IO naming the file if it cannot be read or is larger than max_bytes (0: no limit). */
mbt_status mbt_read_file(const char *path, size_t max_bytes, void **buf, size_t *len);
/* Reads up to n bytes from the start of path into buf; *got receives the count. */
mbt_status mbt_read_file_head(const char *path, void *buf, size_t n, size_t *got);

#endif
