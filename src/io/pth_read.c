/* Reading torch.save zip checkpoints: the archive (libzip), its data.pkl and the storages it names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "io/pth.h"
#include "io/read_file.h"

#define LEGACY_MSG \
    "legacy (pre-1.6) torch.save format; re-save with torch.save(..., _use_new_zipfile_serialization=True)"

typedef struct {
    zip_t *za;
    const char *what;
    char prefix[256];
} pth_archive;

static mbt_status zip_fail(const char *what, const char *doing, zip_error_t *err) {
    return MBT_FAIL(MBT_ERR_FORMAT, "%s: %s: %s", what, doing, zip_error_strerror(err));
}

/* Reads one entry fully into a malloc'ed buffer after checking method, encryption and size. */
static mbt_status read_entry(pth_archive *a, zip_int64_t idx, const char *name, size_t max, void **out, size_t *len) {
    *out = NULL;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(a->za, (zip_uint64_t)idx, 0, &st))
        return zip_fail(a->what, name, zip_get_error(a->za));
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s: entry %s is encrypted", a->what, name);
    if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE) || !(st.valid & ZIP_STAT_COMP_METHOD))
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: entry %s has no size information", a->what, name);
    if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s: entry %s uses compression method %u (stored or deflate expected)",
                        a->what, name, (unsigned)st.comp_method);
    /* deflate expands at most ~1032:1; a larger declared size is corrupt (and would exhaust memory) */
    if ((st.comp_method == ZIP_CM_STORE && st.size != st.comp_size) ||
        (st.comp_method == ZIP_CM_DEFLATE && st.size / 1100 > st.comp_size + 64))
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: entry %s declares %llu bytes from %llu compressed bytes", a->what, name,
                        (unsigned long long)st.size, (unsigned long long)st.comp_size);
    if (max && st.size > max)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: entry %s of %llu bytes exceeds the limit of %zu", a->what, name,
                        (unsigned long long)st.size, max);
    if (st.size > ((zip_uint64_t)1 << 48))
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: entry %s declares %llu bytes", a->what, name, (unsigned long long)st.size);
    size_t n = (size_t)st.size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory to read %s (%zu bytes)", a->what, name, n);
    zip_file_t *f = zip_fopen_index(a->za, (zip_uint64_t)idx, 0);
    if (!f) {
        free(buf);
        return zip_fail(a->what, name, zip_get_error(a->za));
    }
    size_t got = 0;
    while (got < n) {
        zip_int64_t r = zip_fread(f, buf + got, n - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    /* reading one byte more checks the end of the data (and lets libzip verify the CRC) */
    unsigned char extra;
    zip_int64_t r = got == n ? zip_fread(f, &extra, 1) : -1;
    mbt_status s = MBT_OK;
    if (got != n || r != 0) {
        zip_error_t *e = zip_file_get_error(f);
        s = MBT_FAIL(MBT_ERR_FORMAT, "%s: entry %s: read %zu of %zu bytes (%s)", a->what, name, got, n,
                     zip_error_code_zip(e) ? zip_error_strerror(e) : "size mismatch");
    }
    zip_fclose(f);
    if (s) {
        free(buf);
        return s;
    }
    *out = buf;
    *len = n;
    return MBT_OK;
}

static mbt_status load_storage(void *ctx, const mbt_pv_storage *st, size_t nbytes, void **data) {
    pth_archive *a = ctx;
    char name[600];
    snprintf(name, sizeof name, "%s/data/%s", a->prefix, st->key);
    zip_int64_t idx = zip_name_locate(a->za, name, 0);
    if (idx < 0) return MBT_FAIL(MBT_ERR_FORMAT, "storage '%s' (%s) is missing: no entry %s", st->key, st->type_name, name);
    void *buf;
    size_t len;
    MBT_TRY(read_entry(a, idx, name, 0, &buf, &len));
    if (len != nbytes) {
        free(buf);
        return MBT_FAIL(MBT_ERR_FORMAT, "storage '%s' (%s, %lld elements) needs %zu bytes, entry %s has %zu", st->key,
                        st->type_name, (long long)st->numel, nbytes, name, len);
    }
    *data = buf;
    return MBT_OK;
}

/* Finds <prefix>/data.pkl, rejects TorchScript archives, checks the byte order. */
static mbt_status find_pickle(pth_archive *a, zip_int64_t *idx) {
    zip_int64_t n = zip_get_num_entries(a->za, 0);
    *idx = -1;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(a->za, (zip_uint64_t)i, 0);
        if (!name) continue;
        const char *slash = strchr(name, '/');
        if (!slash || strcmp(slash, "/data.pkl") || (size_t)(slash - name) >= sizeof a->prefix) continue;
        memcpy(a->prefix, name, (size_t)(slash - name));
        a->prefix[slash - name] = 0;
        *idx = i;
        break;
    }
    if (*idx < 0)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: zip archive without <name>/data.pkl: not a torch.save checkpoint", a->what);
    char name[400];
    snprintf(name, sizeof name, "%s/constants.pkl", a->prefix);
    if (zip_name_locate(a->za, name, 0) >= 0)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s: a TorchScript archive (torch.jit.save), not a torch.save checkpoint; "
                        "save the model's state_dict() with torch.save", a->what);
    snprintf(name, sizeof name, "%s/byteorder", a->prefix);
    zip_int64_t bo = zip_name_locate(a->za, name, 0);
    if (bo >= 0) {
        void *buf;
        size_t len;
        MBT_TRY(read_entry(a, bo, name, 64, &buf, &len));
        int little = (len == 6 && !memcmp(buf, "little", 6)) || (len == 7 && !memcmp(buf, "little\n", 7));
        free(buf);
        if (!little) return MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s: big-endian checkpoint (byteorder is not 'little')", a->what);
    }
    return MBT_OK;
}

static mbt_status read_archive(pth_archive *a, const char *key, mbt_state_dict *sd) {
    zip_int64_t idx;
    MBT_TRY(find_pickle(a, &idx));
    char name[400];
    snprintf(name, sizeof name, "%s/data.pkl", a->prefix);
    void *pkl;
    size_t len;
    MBT_TRY(read_entry(a, idx, name, MBT_PTH_MAX_PICKLE, &pkl, &len));
    mbt_pickle *p;
    char what[700];
    snprintf(what, sizeof what, "%s (%s)", a->what, name);
    mbt_status s = mbt_pickle_parse(&p, pkl, len, MBT_PICKLE_TORCH | MBT_PICKLE_NUMPY, what);
    if (s == MBT_ERR_UNSUPPORTED && strstr(mbt_error_message(), "' is not allowed")) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", mbt_error_message());
        s = MBT_FAIL(s, "%s; if this is a whole pickled model or object, save its state_dict() with torch.save", msg);
    }
    if (!s) {
        const mbt_pvalue *dict;
        size_t count0 = sd->count, buffers0 = sd->n_buffers;
        s = mbt_pth_select(mbt_pickle_root(p), key, a->what, &dict, NULL, 0);
        if (!s) s = mbt_pth_extract(dict, a->what, load_storage, a, sd);
        if (s) { /* leave sd as it was */
            while (sd->count > count0) mbt_state_dict_remove(sd, sd->count - 1);
            while (sd->n_buffers > buffers0) free(sd->buffers[--sd->n_buffers]);
        }
        mbt_pickle_destroy(p);
    }
    free(pkl);
    return s;
}

static mbt_status check_magic(const unsigned char *head, size_t n, const char *what) {
    if (n >= 4 && !memcmp(head, "PK\x03\x04", 4)) return MBT_OK;
    if (n >= 1 && head[0] == 0x80) return MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s: " LEGACY_MSG, what);
    if (n >= 4 && !memcmp(head, "PK\x05\x06", 4))
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: an empty zip archive, not a torch.save checkpoint", what);
    return MBT_FAIL(MBT_ERR_FORMAT, "%s: not a PyTorch checkpoint (no zip signature)", what);
}

mbt_status mbt_pth_read(const char *path, const char *key, mbt_state_dict *sd) {
    unsigned char head[4];
    size_t got;
    MBT_TRY(mbt_read_file_head(path, head, sizeof head, &got));
    MBT_TRY(check_magic(head, got, path));
    int err = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!za) {
        zip_error_t e;
        zip_error_init_with_code(&e, err);
        mbt_status s = zip_fail(path, "cannot open as a zip archive", &e);
        zip_error_fini(&e);
        return s;
    }
    pth_archive a = {za, path, ""};
    mbt_status s = read_archive(&a, key, sd);
    zip_discard(za);
    return s;
}

mbt_status mbt_pth_read_memory(const void *buf, size_t len, const char *what, const char *key, mbt_state_dict *sd) {
    MBT_TRY(check_magic(buf, len, what));
    zip_error_t e;
    zip_error_init(&e);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &e);
    if (!src) {
        mbt_status s = zip_fail(what, "cannot create a zip source", &e);
        zip_error_fini(&e);
        return s;
    }
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &e);
    if (!za) {
        zip_source_free(src);
        mbt_status s = zip_fail(what, "cannot open as a zip archive", &e);
        zip_error_fini(&e);
        return s;
    }
    zip_error_fini(&e);
    pth_archive a = {za, what, ""};
    mbt_status s = read_archive(&a, key, sd);
    zip_discard(za);
    return s;
}
