/* Unpacking downloaded archives with libarchive: tar(.gz/.xz/.bz2) and zip trees, single .gz files;
 * only plain files and folders with safe relative names are written, each with its size and MD5. */
#ifndef MBT_ARCHIVE_H
#define MBT_ARCHIVE_H

#include <stdint.h>

#include "core/status.h"
#include "io/checksum.h"

/* One file an unpack wrote. */
typedef struct {
    char *path; /* relative to the root given to the unpack, '/'-separated */
    int64_t size;
    char md5[MBT_MD5_HEX_LEN + 1];
} mbt_unpacked_file;

typedef struct {
    mbt_unpacked_file *items;
    int count, cap;
} mbt_unpacked_list;

void mbt_unpacked_list_free(mbt_unpacked_list *list);
/* Appends a copy of path with its size and MD5. */
mbt_status mbt_unpacked_list_add(mbt_unpacked_list *list, const char *path, int64_t size, const char *md5);

/* Normalises an archive member or catalogue name in place: drops "." components and repeated or
 * trailing slashes. Returns 1 if the result is a safe relative path (not absolute, no ".."
 * component, no control characters), 0 if nothing is left (".", "./"), -1 if it is unsafe. */
int mbt_archive_safe_relpath(char *path);

/* Creates root/rel's folder and the folders above it, below root (root itself must exist). */
mbt_status mbt_archive_make_dirs(const char *root, const char *rel);

/* Unpacks the archive at archive_path (any archive libarchive reads: tar with or without gzip, xz,
 * bzip2; zip) into root/sub (sub "" or "." for root itself), creating folders as needed. Regular
 * files are written to a temporary name and renamed into place, so a reader never sees half a
 * file. Members with absolute names or ".." components, links, devices and other special members
 * are refused with MBT_ERR_FORMAT naming the member. Each written file is appended to out (path
 * relative to root, including sub). fn (may be NULL) sees the archive bytes consumed and the
 * archive's size; a non-zero return cancels with MBT_ERR_INTERRUPTED. */
mbt_status mbt_archive_extract(const char *archive_path, const char *root, const char *sub, mbt_unpacked_list *out,
                               mbt_bytes_progress_fn fn, void *ctx);

/* Decompresses the gzip file gz_path into root/dest (dest a safe relative path; folders created),
 * through a temporary name, and appends it to out. MBT_ERR_FORMAT if gz_path is not gzip data. */
mbt_status mbt_archive_gunzip(const char *gz_path, const char *root, const char *dest, mbt_unpacked_list *out,
                              mbt_bytes_progress_fn fn, void *ctx);

#endif
