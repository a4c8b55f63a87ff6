/* Writing torch.save-compatible zip checkpoints: a protocol-2 pickle of an OrderedDict of
 * _rebuild_tensor_v2 calls plus one stored, 64-byte aligned entry per storage (libzip). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "io/atomic_file.h"
#include "io/bytebuf.h"
#include "io/pth.h"

/* ---- pickle (protocol 2) ---- */

static void pk_int(mbt_bytebuf *b, int64_t v) {
    if (v >= 0 && v < 256) {
        mbt_bytebuf_byte(b, 'K');
        mbt_bytebuf_byte(b, (unsigned char)v);
    } else if (v >= 0 && v < 65536) {
        mbt_bytebuf_byte(b, 'M');
        mbt_bytebuf_u16le(b, (uint16_t)v);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        mbt_bytebuf_byte(b, 'J');
        mbt_bytebuf_u32le(b, (uint32_t)(int32_t)v);
    } else {
        mbt_bytebuf_byte(b, 0x8a); /* LONG1, 8 bytes two's complement */
        mbt_bytebuf_byte(b, 8);
        mbt_bytebuf_u64le(b, (uint64_t)v);
    }
}

static void pk_str(mbt_bytebuf *b, const char *s) {
    size_t n = strlen(s);
    mbt_bytebuf_byte(b, 'X');
    mbt_bytebuf_u32le(b, (uint32_t)n);
    mbt_bytebuf_put(b, s, n);
}

static void pk_tuple(mbt_bytebuf *b, int n, const int64_t *v) {
    if (n == 0) {
        mbt_bytebuf_byte(b, ')');
        return;
    }
    mbt_bytebuf_byte(b, '(');
    for (int i = 0; i < n; i++) pk_int(b, v[i]);
    mbt_bytebuf_byte(b, 't');
}

static const char *storage_class(mbt_dtype d) {
    switch (d) {
    case MBT_DTYPE_F32: return "FloatStorage";
    case MBT_DTYPE_F16: return "HalfStorage";
    case MBT_DTYPE_BF16: return "BFloat16Storage";
    case MBT_DTYPE_F64: return "DoubleStorage";
    case MBT_DTYPE_I64: return "LongStorage";
    case MBT_DTYPE_I32: return "IntStorage";
    case MBT_DTYPE_U8: return "ByteStorage";
    default: return NULL;
    }
}

/* Emits GLOBAL module.name once, memoised at `slot`; later uses are BINGETs. */
static void pk_global(mbt_bytebuf *b, const char *module, const char *name, int slot, int *seen) {
    if (*seen) {
        mbt_bytebuf_byte(b, 'h');
        mbt_bytebuf_byte(b, (unsigned char)slot);
        return;
    }
    mbt_bytebuf_printf(b, "c%s\n%s\n", module, name);
    mbt_bytebuf_byte(b, 'q');
    mbt_bytebuf_byte(b, (unsigned char)slot);
    *seen = 1;
}

mbt_status mbt_pth_pickle_state_dict(const mbt_state_dict *sd, unsigned char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    for (size_t i = 0; i < sd->count; i++) {
        if (!storage_class(sd->tensors[i].dtype))
            return MBT_FAIL(MBT_ERR_ARG, "tensor '%s': dtype %d has no torch storage", sd->tensors[i].name,
                            (int)sd->tensors[i].dtype);
        if (!mbt_utf8_valid(sd->tensors[i].name, strlen(sd->tensors[i].name)))
            return MBT_FAIL(MBT_ERR_ARG, "tensor name '%s' is not valid UTF-8 (Python could not read it)",
                            sd->tensors[i].name);
    }
    mbt_bytebuf b;
    mbt_bytebuf_init(&b);
    int seen_od = 0, seen_rebuild = 0, seen_storage[MBT_DTYPE_COUNT] = {0};
    mbt_bytebuf_put(&b, "\x80\x02", 2);
    pk_global(&b, "collections", "OrderedDict", 0, &seen_od);
    mbt_bytebuf_put(&b, ")R", 2);
    for (size_t start = 0; start < sd->count; start += 1000) {
        mbt_bytebuf_byte(&b, '(');
        for (size_t i = start; i < sd->count && i < start + 1000; i++) {
            const mbt_sd_tensor *t = &sd->tensors[i];
            int64_t strides[MBT_SD_MAX_DIMS], acc = 1;
            for (int d = t->ndim - 1; d >= 0; d--) {
                strides[d] = acc;
                acc *= t->shape[d] > 1 ? t->shape[d] : 1;
            }
            char key[32];
            snprintf(key, sizeof key, "%zu", i);
            pk_str(&b, t->name);
            pk_global(&b, "torch._utils", "_rebuild_tensor_v2", 1, &seen_rebuild);
            mbt_bytebuf_str(&b, "((");
            pk_str(&b, "storage");
            pk_global(&b, "torch", storage_class(t->dtype), 2 + (int)t->dtype, &seen_storage[t->dtype]);
            pk_str(&b, key);
            pk_str(&b, "cpu");
            pk_int(&b, (int64_t)t->numel);
            mbt_bytebuf_str(&b, "tQ"); /* persistent id tuple, BINPERSID */
            pk_int(&b, 0);             /* storage offset */
            pk_tuple(&b, t->ndim, t->shape);
            pk_tuple(&b, t->ndim, strides);
            mbt_bytebuf_byte(&b, 0x89); /* requires_grad False */
            pk_global(&b, "collections", "OrderedDict", 0, &seen_od);
            mbt_bytebuf_str(&b, ")RtR"); /* OrderedDict() backward hooks; args tuple; call */
        }
        mbt_bytebuf_byte(&b, 'u');
    }
    mbt_bytebuf_byte(&b, '.');
    if (b.failed) {
        mbt_bytebuf_free(&b);
        return MBT_FAIL(MBT_ERR_NOMEM, "no memory for the pickle of %zu tensors", sd->count);
    }
    *out = b.data;
    *len = b.len;
    return MBT_OK;
}

/* ---- zip ---- */

typedef struct {
    zip_t *za;
    const char *path;
    uint64_t pos; /* where the next local header starts, as libzip lays entries out in order */
} zip_writer;

/* Adds a stored entry whose data starts 64-byte aligned (padding in a local "FB" extra field, as
 * torch.save does). */
static mbt_status add_entry(zip_writer *w, const char *name, const void *data, size_t n) {
    zip_source_t *src = zip_source_buffer(w->za, n ? data : "", n, 0);
    if (!src) return MBT_FAIL(MBT_ERR_IO, "%s: %s: %s", w->path, name, zip_strerror(w->za));
    zip_int64_t idx = zip_file_add(w->za, name, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return MBT_FAIL(MBT_ERR_IO, "%s: cannot add %s: %s", w->path, name, zip_strerror(w->za));
    }
    uint64_t header = 30 + strlen(name) + 4;
    uint16_t pad = (uint16_t)((64 - (w->pos + header) % 64) % 64);
    static const zip_uint8_t zeros[64];
    if (zip_set_file_compression(w->za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) ||
        zip_file_set_mtime(w->za, (zip_uint64_t)idx, 946684800 /* 2000-01-01: reproducible bytes */, 0) ||
        zip_file_extra_field_set(w->za, (zip_uint64_t)idx, 0x4246 /* "FB" */, ZIP_EXTRA_FIELD_NEW, zeros, pad,
                                 ZIP_FL_LOCAL))
        return MBT_FAIL(MBT_ERR_IO, "%s: cannot set up %s: %s", w->path, name, zip_strerror(w->za));
    w->pos += header + pad + n;
    return MBT_OK;
}

/* "<stem>" of the output file name, restricted to [A-Za-z0-9_-], or "archive". */
static void archive_name(const char *path, char *out, size_t size) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = 0;
    for (const char *p = base; *p && *p != '.' && n + 1 < size && n < 64; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
            out[n++] = *p;
    out[n] = 0;
    if (!n) snprintf(out, size, "archive");
}

mbt_status mbt_pth_write(const char *path, const mbt_state_dict *sd) {
    unsigned char *pkl;
    size_t pkl_len;
    MBT_TRY(mbt_pth_pickle_state_dict(sd, &pkl, &pkl_len));
    char *tmp = mbt_atomic_tmp_name(path);
    if (!tmp) {
        free(pkl);
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory", path);
    }
    int err = 0;
    zip_t *za = zip_open(tmp, ZIP_CREATE | ZIP_EXCL, &err);
    if (!za) {
        zip_error_t e;
        zip_error_init_with_code(&e, err);
        mbt_status s = MBT_FAIL(MBT_ERR_IO, "%s: cannot create %s: %s", path, tmp, zip_error_strerror(&e));
        zip_error_fini(&e);
        free(tmp);
        free(pkl);
        return s;
    }
    char prefix[80], name[128];
    archive_name(path, prefix, sizeof prefix);
    zip_writer w = {za, path, 0};
    snprintf(name, sizeof name, "%s/data.pkl", prefix);
    mbt_status s = add_entry(&w, name, pkl, pkl_len);
    for (size_t i = 0; i < sd->count && !s; i++) {
        snprintf(name, sizeof name, "%s/data/%zu", prefix, i);
        s = add_entry(&w, name, sd->tensors[i].data, sd->tensors[i].nbytes);
    }
    if (!s) {
        snprintf(name, sizeof name, "%s/version", prefix);
        s = add_entry(&w, name, "3\n", 2);
    }
    if (!s) {
        snprintf(name, sizeof name, "%s/byteorder", prefix);
        s = add_entry(&w, name, "little", 6);
    }
    if (!s && zip_close(za)) s = MBT_FAIL(MBT_ERR_IO, "%s: writing %s failed: %s", path, tmp, zip_strerror(za));
    if (s) zip_discard(za);
    if (!s) s = mbt_atomic_publish(tmp, path);
    if (s) unlink(tmp);
    free(tmp);
    free(pkl);
    return s;
}
