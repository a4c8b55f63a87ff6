/* Dataset installs: obtain each published file (local copy, earlier download, or a resumable
 * download over the mirrors), check MD5s, unpack, check the layout, write the manifest. */
#include "io/dataset_install.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/archive.h"
#include "io/atomic_file.h"
#include "io/checksum.h"
#include "io/download.h"
#include "io/read_file.h"

#define MANIFEST_MAGIC "mixbt-download-manifest 1"
#define PATH_CAP 4096

/* ---- callbacks ---------------------------------------------------------------------------- */

static void note(const mbt_fetch_callbacks *cb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const mbt_fetch_callbacks *cb, const char *fmt, ...) {
    if (!cb || !cb->note) return;
    char line[2 * PATH_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cb->note(cb->ctx, line);
}

/* Adapts byte-progress callbacks of the lower layers to phase events. */
typedef struct {
    const mbt_fetch_callbacks *cb;
    mbt_fetch_event ev;
    int begun;
} phase_report;

static void phase_begin(phase_report *r, const mbt_fetch_callbacks *cb, mbt_fetch_phase phase, const char *file) {
    memset(r, 0, sizeof *r);
    r->cb = cb;
    r->ev.phase = phase;
    r->ev.file = file;
    r->ev.total = -1;
}

static int on_bytes(void *ctx, int64_t done, int64_t total) {
    phase_report *r = ctx;
    if (!r->begun) {
        r->begun = 1;
        r->ev.start = done;
    }
    r->ev.done = done;
    r->ev.total = total;
    return r->cb && r->cb->progress ? r->cb->progress(r->cb->ctx, &r->ev) : 0;
}

static void phase_end(phase_report *r) {
    if (!r->begun || !r->cb || !r->cb->progress) return;
    r->ev.finished = 1;
    r->cb->progress(r->cb->ctx, &r->ev);
}

/* ---- small file-system helpers --------------------------------------------------------------- */

static int is_regular(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int64_t size_of(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

static mbt_status make_path(const char *dir) {
    char p[PATH_CAP];
    if ((size_t)snprintf(p, sizeof p, "%s", dir) >= sizeof p) return MBT_FAIL(MBT_ERR_ARG, "%s: path too long", dir);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return MBT_FAIL(MBT_ERR_IO, "%s: cannot create folder: %s", p, strerror(errno));
        *s = c;
        if (!c) break;
    }
    if (!is_dir(dir)) return MBT_FAIL(MBT_ERR_IO, "%s: exists and is not a folder", dir);
    return MBT_OK;
}

static mbt_status join(char *out, size_t cap, const char *a, const char *b) {
    if ((size_t)snprintf(out, cap, "%s/%s", a, b) >= cap) return MBT_FAIL(MBT_ERR_ARG, "%s/%s: path too long", a, b);
    return MBT_OK;
}

/* The MD5 of path with VERIFY progress under the name `label`. */
static mbt_status md5_with_progress(const mbt_fetch_callbacks *cb, const char *path, const char *label,
                                    char hex[MBT_MD5_HEX_LEN + 1]) {
    phase_report r;
    phase_begin(&r, cb, MBT_FETCH_VERIFY, label);
    mbt_status st = mbt_md5_file(path, hex, on_bytes, &r);
    if (st == MBT_OK) phase_end(&r);
    return st;
}

/* ---- manifest ------------------------------------------------------------------------------- */

char *mbt_dataset_manifest_path(const mbt_dataset_source *src, const char *dir) {
    size_t n = strlen(dir) + strlen(src->name) + 32;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/.mixbt-%s.manifest", dir, src->name);
    return p;
}

static mbt_status write_manifest(const mbt_dataset_source *src, const char *dir, const mbt_unpacked_list *files) {
    char *path = mbt_dataset_manifest_path(src, dir);
    if (!path) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the manifest path", dir);
    mbt_atomic_file f;
    mbt_status st = mbt_atomic_open(&f, path);
    if (st == MBT_OK) {
        fprintf(f.fp, "%s %s\n", MANIFEST_MAGIC, src->name);
        for (int i = 0; i < src->n_files; i++) fprintf(f.fp, "source %s %s\n", src->files[i].md5, src->files[i].name);
        for (int i = 0; i < files->count; i++)
            fprintf(f.fp, "file %s %" PRId64 " %s\n", files->items[i].md5, files->items[i].size, files->items[i].path);
        if (ferror(f.fp)) {
            st = MBT_FAIL(MBT_ERR_IO, "%s: cannot write the manifest: %s", path, strerror(errno));
            mbt_atomic_abort(&f);
        } else {
            st = mbt_atomic_commit(&f);
        }
    }
    free(path);
    return st;
}

/* Reads the manifest's file list; checks its header and sources against src. */
static mbt_status read_manifest(const mbt_dataset_source *src, const char *path, mbt_unpacked_list *files) {
    void *buf = NULL;
    size_t len = 0;
    if (!is_regular(path)) return MBT_FAIL(MBT_ERR_IO, "%s: no manifest (not installed by mixbt download)", path);
    MBT_TRY(mbt_read_file(path, 64u << 20, &buf, &len));
    mbt_status st = MBT_OK;
    int line_no = 0, sources = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line && st == MBT_OK; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char md5[64], name[PATH_CAP];
        int64_t size;
        int used = 0;
        if (line_no == 1) {
            char expect[256];
            snprintf(expect, sizeof expect, "%s %s", MANIFEST_MAGIC, src->name);
            if (strcmp(line, expect)) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: not a manifest of %s", path, src->name);
        } else if (!strncmp(line, "source ", 7)) {
            if (sscanf(line + 7, "%63s %4095s", md5, name) != 2 || sources >= src->n_files ||
                strcmp(name, src->files[sources].name) || !mbt_md5_equal(md5, src->files[sources].md5))
                st = MBT_FAIL(MBT_ERR_FORMAT, "%s: made from other files than the catalogue lists now (line %d)", path,
                              line_no);
            sources++;
        } else if (!strncmp(line, "file ", 5) && sscanf(line + 5, "%63s %" SCNd64 " %n", md5, &size, &used) == 2 &&
                   used > 0 && mbt_md5_is_hex(md5) && size >= 0) {
            snprintf(name, sizeof name, "%s", line + 5 + used);
            if (mbt_archive_safe_relpath(name) != 1 || strcmp(name, line + 5 + used))
                st = MBT_FAIL(MBT_ERR_FORMAT, "%s line %d: unsafe path", path, line_no);
            else st = mbt_unpacked_list_add(files, name, size, md5);
        } else {
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s line %d: malformed", path, line_no);
        }
    }
    if (st == MBT_OK && line_no == 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: empty manifest", path);
    if (st == MBT_OK && sources != src->n_files)
        st = MBT_FAIL(MBT_ERR_FORMAT, "%s: made from other files than the catalogue lists now", path);
    free(buf);
    return st;
}

mbt_status mbt_dataset_verify(const mbt_dataset_source *src, const char *dir, const mbt_fetch_callbacks *cb,
                              int *n_files) {
    if (n_files) *n_files = 0;
    char *mpath = mbt_dataset_manifest_path(src, dir);
    if (!mpath) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the manifest path", dir);
    mbt_unpacked_list files = {0};
    mbt_status st = read_manifest(src, mpath, &files);
    char path[PATH_CAP];
    /* Cheap checks first: every file there with its size, the expected files present. */
    for (int i = 0; st == MBT_OK && i < files.count; i++) {
        st = join(path, sizeof path, dir, files.items[i].path);
        int64_t have = st == MBT_OK ? size_of(path) : -1;
        if (st == MBT_OK && have < 0) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: missing", path);
        else if (st == MBT_OK && have != files.items[i].size)
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: %" PRId64 " bytes, the install wrote %" PRId64, path, have,
                          files.items[i].size);
    }
    for (int i = 0; st == MBT_OK && i < src->n_expect; i++) {
        st = join(path, sizeof path, dir, src->expect[i]);
        if (st == MBT_OK && !is_regular(path)) st = MBT_FAIL(MBT_ERR_FORMAT, "%s: missing", path);
    }
    for (int i = 0; st == MBT_OK && i < files.count; i++) {
        char hex[MBT_MD5_HEX_LEN + 1];
        st = join(path, sizeof path, dir, files.items[i].path);
        if (st == MBT_OK) st = md5_with_progress(cb, path, files.items[i].path, hex);
        if (st == MBT_OK && !mbt_md5_equal(hex, files.items[i].md5))
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: changed since it was installed (MD5 %s, the install wrote %s)", path, hex,
                          files.items[i].md5);
    }
    if (st == MBT_OK && n_files) *n_files = files.count;
    mbt_unpacked_list_free(&files);
    free(mpath);
    return st;
}

/* ---- obtaining the published files ---------------------------------------------------------- */

static mbt_status checksum_mismatch(const char *what, const char *have, const mbt_source_file *f, const char *after) {
    return MBT_FAIL(MBT_ERR_FORMAT, "checksum mismatch: %s has MD5 %s, expected %s (the published MD5 of %s)%s", what,
                    have, f->md5, f->name, after);
}

/* The local copy of f under opt->from. */
static mbt_status from_path(const mbt_dataset_source *src, const mbt_source_file *f, const char *from, char *out,
                            size_t cap) {
    if (is_dir(from)) return join(out, cap, from, f->name);
    if (!is_regular(from)) return MBT_FAIL(MBT_ERR_IO, "--from %s: no such file or folder", from);
    if (src->n_files == 1) {
        snprintf(out, cap, "%s", from);
        return MBT_OK;
    }
    const char *slash = strrchr(from, '/');
    if (!slash) return join(out, cap, ".", f->name);
    char folder[PATH_CAP];
    snprintf(folder, sizeof folder, "%.*s", (int)(slash - from), from);
    return join(out, cap, slash == from ? "" : folder, f->name);
}

/* Downloads f into final (through final.partial), trying each URL. */
static mbt_status download_file(const mbt_source_file *f, const mbt_install_options *opt, const char *final) {
    char partial[PATH_CAP];
    if ((size_t)snprintf(partial, sizeof partial, "%s.partial", final) >= sizeof partial)
        return MBT_FAIL(MBT_ERR_ARG, "%s: path too long", final);
    char last_error[2 * PATH_CAP] = "";
    int last_network = 0;
    int64_t noted_resume = 0;
    for (int u = 0; u < f->n_urls; u++) {
        const char *url = f->urls[u];
        int attempts = 0, fresh_retry_used = 0;
        for (;;) {
            mbt_download_result res;
            phase_report r;
            phase_begin(&r, &opt->cb, MBT_FETCH_DOWNLOAD, f->name);
            int64_t before = size_of(partial);
            if (before > 0 && before != noted_resume)
                note(&opt->cb, "%s: resuming at %.1f MB (%s)", f->name, before / 1e6, partial);
            noted_resume = before;
            mbt_status st = mbt_download_resume(url, partial, on_bytes, &r, &res);
            if (st == MBT_OK) phase_end(&r);
            if (size_of(partial) == 0) unlink(partial); /* nothing arrived: leave no empty file */
            if (st == MBT_OK) {
                char hex[MBT_MD5_HEX_LEN + 1];
                MBT_TRY(md5_with_progress(&opt->cb, partial, f->name, hex));
                if (mbt_md5_equal(hex, f->md5)) {
                    if (rename(partial, final) != 0)
                        return MBT_FAIL(MBT_ERR_IO, "%s: cannot rename to %s: %s", partial, final, strerror(errno));
                    return MBT_OK;
                }
                unlink(partial);
                if (res.resumed_from > 0 && !res.restarted && !fresh_retry_used) {
                    note(&opt->cb, "%s: MD5 %s after resuming, not the published %s; downloading it afresh", f->name,
                         hex, f->md5);
                    fresh_retry_used = 1;
                    continue;
                }
                checksum_mismatch(url, hex, f, "; the download was removed");
                snprintf(last_error, sizeof last_error, "%s", mbt_error_message());
                last_network = 0;
                break;
            }
            if (!res.network_error) return st; /* a disk error or a cancel: no other URL helps */
            snprintf(last_error, sizeof last_error, "%s", mbt_error_message());
            last_network = 1;
            if (res.received > 0 && attempts < opt->retries) {
                attempts++;
                note(&opt->cb, "%s: %s; retrying (%d of %d)", f->name, last_error, attempts, opt->retries);
                continue;
            }
            break;
        }
        if (u + 1 < f->n_urls) note(&opt->cb, "%s: %s; trying the next mirror", f->name, last_error);
    }
    if (!last_network) return MBT_FAIL(MBT_ERR_FORMAT, "%s", last_error);
    int64_t kept = size_of(partial);
    char kept_msg[PATH_CAP + 128] = "";
    if (kept > 0)
        snprintf(kept_msg, sizeof kept_msg, "; %s keeps the %" PRId64 " bytes received, run again to resume", partial,
                 kept);
    return MBT_FAIL(MBT_ERR_IO,
                    "cannot download %s: %s%s; offline, copy %s from a machine with internet and pass it with --from FILE",
                    f->name, last_error, kept_msg, f->name);
}

/* Finds or fetches a verified copy of f; *path receives it, *remove_after whether to delete it. */
static mbt_status obtain(const mbt_dataset_source *src, const mbt_source_file *f, const char *dir,
                         const mbt_install_options *opt, char *path, size_t cap, int *remove_after) {
    char hex[MBT_MD5_HEX_LEN + 1];
    *remove_after = 0;
    if (opt->from) {
        MBT_TRY(from_path(src, f, opt->from, path, cap));
        if (!is_regular(path))
            return MBT_FAIL(MBT_ERR_IO, "--from: %s not found (%s needs %s)", path, src->name, f->name);
        MBT_TRY(md5_with_progress(&opt->cb, path, f->name, hex));
        if (!mbt_md5_equal(hex, f->md5)) return checksum_mismatch(path, hex, f, "");
        return MBT_OK;
    }
    MBT_TRY(join(path, cap, dir, f->name));
    *remove_after = !opt->keep_archives;
    if (is_regular(path)) {
        MBT_TRY(md5_with_progress(&opt->cb, path, f->name, hex));
        if (mbt_md5_equal(hex, f->md5)) {
            note(&opt->cb, "%s: using the verified copy in %s", f->name, dir);
            return MBT_OK;
        }
        note(&opt->cb, "%s: MD5 %s is not the published %s; downloading it again", path, hex, f->md5);
        if (unlink(path) != 0) return MBT_FAIL(MBT_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    }
    return download_file(f, opt, path);
}

/* ---- install -------------------------------------------------------------------------------- */

mbt_status mbt_dataset_install(const mbt_dataset_source *src, const char *dir, const mbt_install_options *opt,
                               int *already) {
    mbt_install_options none;
    if (!opt) {
        memset(&none, 0, sizeof none);
        opt = &none;
    }
    if (already) *already = 0;
    MBT_CHECK_ARG(src && src->n_files > 0, "install: no dataset source");
    MBT_CHECK_ARG(dir && *dir, "install %s: empty data folder (--data)", src->name);
    MBT_TRY(make_path(dir));
    char *mpath = mbt_dataset_manifest_path(src, dir);
    if (!mpath) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the manifest path", dir);
    int n = 0;
    mbt_status st = MBT_OK;
    if (!opt->force) {
        st = mbt_dataset_verify(src, dir, &opt->cb, &n);
        if (st == MBT_OK) {
            note(&opt->cb, "%s: already in %s (%d files verified)", src->name, dir, n);
            if (already) *already = 1;
            free(mpath);
            return MBT_OK;
        }
        if (st == MBT_ERR_FORMAT) note(&opt->cb, "%s; installing again", mbt_error_message());
        else if (st != MBT_ERR_IO) {
            free(mpath);
            return st;
        }
    }
    /* From here on the install is incomplete until the new manifest is written. */
    if (unlink(mpath) != 0 && errno != ENOENT) {
        st = MBT_FAIL(MBT_ERR_IO, "%s: cannot remove the old manifest: %s", mpath, strerror(errno));
        free(mpath);
        return st;
    }
    free(mpath);

    char paths[MBT_SOURCE_MAX_FILES][PATH_CAP];
    int remove_after[MBT_SOURCE_MAX_FILES] = {0};
    for (int i = 0; i < src->n_files; i++)
        MBT_TRY(obtain(src, &src->files[i], dir, opt, paths[i], PATH_CAP, &remove_after[i]));

    mbt_unpacked_list files = {0};
    st = MBT_OK;
    for (int i = 0; st == MBT_OK && i < src->n_files; i++) {
        const mbt_source_file *f = &src->files[i];
        phase_report r;
        phase_begin(&r, &opt->cb, MBT_FETCH_UNPACK, f->name);
        if (f->unpack == MBT_UNPACK_ARCHIVE) st = mbt_archive_extract(paths[i], dir, f->dest, &files, on_bytes, &r);
        else st = mbt_archive_gunzip(paths[i], dir, f->dest, &files, on_bytes, &r);
        if (st == MBT_OK) phase_end(&r);
    }
    char path[PATH_CAP];
    for (int i = 0; st == MBT_OK && i < src->n_expect; i++) {
        st = join(path, sizeof path, dir, src->expect[i]);
        if (st == MBT_OK && !is_regular(path))
            st = MBT_FAIL(MBT_ERR_FORMAT, "%s: the unpacked files lack %s, which the %s reader needs", dir,
                          src->expect[i], src->name);
    }
    if (st == MBT_OK) st = write_manifest(src, dir, &files);
    if (st == MBT_OK) {
        for (int i = 0; i < src->n_files; i++)
            if (remove_after[i] && unlink(paths[i]) != 0)
                note(&opt->cb, "%s: cannot remove the archive: %s", paths[i], strerror(errno));
        note(&opt->cb, "%s: installed in %s (%d files)", src->name, dir, files.count);
    }
    mbt_unpacked_list_free(&files);
    return st;
}
