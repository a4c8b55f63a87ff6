/* Safe archive extraction (libarchive): plain files and folders only, atomic file writes, MD5s. */
#include "io/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/atomic_file.h"

void mbt_unpacked_list_free(mbt_unpacked_list *list) {
    for (int i = 0; i < list->count; i++) free(list->items[i].path);
    free(list->items);
    list->items = NULL;
    list->count = list->cap = 0;
}

mbt_status mbt_unpacked_list_add(mbt_unpacked_list *list, const char *path, int64_t size, const char *md5) {
    if (list->count == list->cap) {
        int cap = list->cap ? 2 * list->cap : 16;
        mbt_unpacked_file *p = realloc(list->items, (size_t)cap * sizeof *p);
        if (!p) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the list of unpacked files", path);
        list->items = p;
        list->cap = cap;
    }
    mbt_unpacked_file *f = &list->items[list->count];
    f->path = strdup(path);
    if (!f->path) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the list of unpacked files", path);
    f->size = size;
    snprintf(f->md5, sizeof f->md5, "%s", md5);
    list->count++;
    return MBT_OK;
}

int mbt_archive_safe_relpath(char *path) {
    char *r = path, *w = path;
    if (*r == '/') return -1;
    /* Copy, folding repeated slashes, and check each component. */
    while (*r) {
        const char *comp = r;
        while (*r && *r != '/') {
            if ((unsigned char)*r < 0x20 || *r == 0x7f) return -1;
            r++;
        }
        size_t len = (size_t)(r - comp);
        if (len == 2 && comp[0] == '.' && comp[1] == '.') return -1;
        int skip = len == 0 || (len == 1 && comp[0] == '.');
        if (!skip) {
            if (w != path) *w++ = '/';
            memmove(w, comp, len);
            w += len;
        }
        while (*r == '/') r++;
    }
    *w = 0;
    return w != path;
}

mbt_status mbt_archive_make_dirs(const char *root, const char *rel) {
    size_t n = strlen(root) + strlen(rel) + 2;
    char *p = malloc(n);
    if (!p) return MBT_FAIL(MBT_ERR_NOMEM, "%s/%s: no memory for the path", root, rel);
    snprintf(p, n, "%s/%s", root, rel);
    mbt_status st = MBT_OK;
    for (char *s = p + strlen(root) + 1;; s++) {
        if (*s != '/' && *s != 0) continue;
        char c = *s;
        *s = 0;
        struct stat sb;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            st = MBT_FAIL(MBT_ERR_IO, "%s: cannot create folder: %s", p, strerror(errno));
            break;
        }
        if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            st = MBT_FAIL(MBT_ERR_IO, "%s: exists and is not a folder", p);
            break;
        }
        *s = c;
        if (!c) break;
    }
    free(p);
    return st;
}

/* The archive's size for progress reports, or -1. */
static int64_t file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

/* Writes the current member's data to root/rel through a temporary file and records it. */
static mbt_status write_member(struct archive *a, const char *archive_path, const char *root, const char *rel,
                               mbt_unpacked_list *out, mbt_bytes_progress_fn fn, void *ctx, int64_t total) {
    const char *slash = strrchr(rel, '/');
    if (slash) {
        char parent[4096];
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - rel), rel);
        MBT_TRY(mbt_archive_make_dirs(root, parent));
    }
    char full[8192];
    if ((size_t)snprintf(full, sizeof full, "%s/%s", root, rel) >= sizeof full)
        return MBT_FAIL(MBT_ERR_ARG, "%s: member path %s is too long", archive_path, rel);
    mbt_atomic_file f;
    MBT_TRY(mbt_atomic_open(&f, full));
    mbt_md5 md5;
    mbt_status st = mbt_md5_init(&md5);
    int64_t written = 0;
    static const char zeros[4096];
    while (st == MBT_OK) {
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r = archive_read_data_block(a, &buf, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: cannot read member %s: %s", archive_path, rel, archive_error_string(a));
            break;
        }
        while (st == MBT_OK && written < (int64_t)offset) { /* a hole in a sparse member */
            size_t z = (int64_t)offset - written < (int64_t)sizeof zeros ? (size_t)((int64_t)offset - written) : sizeof zeros;
            st = mbt_atomic_write(&f, zeros, z);
            if (st == MBT_OK) st = mbt_md5_update(&md5, zeros, z);
            written += (int64_t)z;
        }
        if (st == MBT_OK) st = mbt_atomic_write(&f, buf, size);
        if (st == MBT_OK) st = mbt_md5_update(&md5, buf, size);
        written += (int64_t)size;
        if (st == MBT_OK && fn && fn(ctx, (int64_t)archive_filter_bytes(a, -1), total))
            st = MBT_FAIL(MBT_ERR_INTERRUPTED, "%s: unpacking cancelled", archive_path);
    }
    char hex[MBT_MD5_HEX_LEN + 1];
    if (st == MBT_OK) st = mbt_md5_final(&md5, hex);
    mbt_md5_free(&md5);
    if (st != MBT_OK) {
        mbt_atomic_abort(&f);
        return st;
    }
    MBT_TRY(mbt_atomic_commit(&f));
    return mbt_unpacked_list_add(out, rel, written, hex);
}

static const char *member_kind(mode_t type) {
    switch (type) {
    case AE_IFLNK: return "a symbolic link";
    case AE_IFCHR: return "a character device";
    case AE_IFBLK: return "a block device";
    case AE_IFIFO: return "a FIFO";
    case AE_IFSOCK: return "a socket";
    default: return "a special member";
    }
}

mbt_status mbt_archive_extract(const char *archive_path, const char *root, const char *sub, mbt_unpacked_list *out,
                               mbt_bytes_progress_fn fn, void *ctx) {
    char subdir[4096] = "";
    if (sub && *sub && strcmp(sub, ".")) {
        snprintf(subdir, sizeof subdir, "%s", sub);
        if (mbt_archive_safe_relpath(subdir) != 1)
            return MBT_FAIL(MBT_ERR_ARG, "unpack %s: destination folder '%s' is not a safe relative path", archive_path, sub);
        MBT_TRY(mbt_archive_make_dirs(root, subdir));
    }
    struct archive *a = archive_read_new();
    if (!a) return MBT_FAIL(MBT_ERR_NOMEM, "%s: libarchive could not allocate a reader", archive_path);
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_zip(a);
    if (archive_read_open_filename(a, archive_path, 1 << 16) != ARCHIVE_OK) {
        mbt_status st = MBT_FAIL(MBT_ERR_FORMAT, "%s: cannot open as an archive: %s", archive_path, archive_error_string(a));
        archive_read_free(a);
        return st;
    }
    int64_t total = file_size(archive_path);
    mbt_status st = MBT_OK;
    struct archive_entry *e;
    int r, members = 0;
    while (st == MBT_OK && ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)) {
        const char *name = archive_entry_pathname(e);
        char rel[4096], member[4096];
        snprintf(member, sizeof member, "%s", name ? name : "");
        int n = subdir[0] ? snprintf(rel, sizeof rel, "%s/", subdir) : 0;
        char *base = rel + n;
        if (!name || strlen(name) + (size_t)n >= sizeof rel) {
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: member %d has no name or a name over %zu bytes", archive_path, members,
                          sizeof rel - (size_t)n);
            break;
        }
        snprintf(base, sizeof rel - (size_t)n, "%s", name);
        mode_t type = archive_entry_filetype(e);
        int safe = mbt_archive_safe_relpath(base);
        if (safe == 0 && type == AE_IFDIR) continue; /* the archive's "./" */
        if (safe != 1) {
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: refusing member '%s': an absolute or empty name, or one with '..', could write outside %s",
                          archive_path, member, root);
            break;
        }
        members++;
        if (type == AE_IFDIR) {
            st = mbt_archive_make_dirs(root, rel);
        } else if (type == AE_IFREG && !archive_entry_hardlink(e)) {
            st = write_member(a, archive_path, root, rel, out, fn, ctx, total);
        } else {
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: refusing member '%s': it is %s, only plain files and folders are unpacked",
                          archive_path, member, archive_entry_hardlink(e) ? "a hard link" : member_kind(type));
        }
    }
    if (st == MBT_OK && r != ARCHIVE_EOF)
        st = MBT_FAIL(MBT_ERR_FORMAT, "%s: damaged archive after %d members: %s", archive_path, members,
                      archive_error_string(a));
    if (st == MBT_OK && members == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: the archive holds no files", archive_path);
    archive_read_free(a);
    return st;
}

mbt_status mbt_archive_gunzip(const char *gz_path, const char *root, const char *dest, mbt_unpacked_list *out,
                              mbt_bytes_progress_fn fn, void *ctx) {
    char rel[4096];
    snprintf(rel, sizeof rel, "%s", dest ? dest : "");
    if (mbt_archive_safe_relpath(rel) != 1)
        return MBT_FAIL(MBT_ERR_ARG, "gunzip %s: destination '%s' is not a safe relative path", gz_path, dest ? dest : "");
    struct archive *a = archive_read_new();
    if (!a) return MBT_FAIL(MBT_ERR_NOMEM, "%s: libarchive could not allocate a reader", gz_path);
    archive_read_support_filter_gzip(a);
    archive_read_support_format_raw(a);
    mbt_status st = MBT_OK;
    struct archive_entry *e;
    if (archive_read_open_filename(a, gz_path, 1 << 16) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK)
        st = MBT_FAIL(MBT_ERR_FORMAT, "%s: cannot read: %s", gz_path, archive_error_string(a));
    else if (archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP)
        st = MBT_FAIL(MBT_ERR_FORMAT, "%s: not gzip-compressed data", gz_path);
    else
        st = write_member(a, gz_path, root, rel, out, fn, ctx, file_size(gz_path));
    archive_read_free(a);
    return st;
}
