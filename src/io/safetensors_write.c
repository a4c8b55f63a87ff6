/* safetensors writer: header in state-dict order, data by decreasing element size, atomic replace. */
#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"
#include "io/bytebuf.h"
#include "io/safetensors.h"

mbt_status mbt_safetensors_header(const mbt_state_dict *sd, char **header, size_t *header_len, size_t *offsets) {
    *header = NULL;
    *header_len = 0;
    for (size_t i = 0; i < sd->count; i++) {
        if (!strcmp(sd->tensors[i].name, "__metadata__"))
            return MBT_FAIL(MBT_ERR_ARG, "safetensors: a tensor cannot be called \"__metadata__\"");
        if (!mbt_utf8_valid(sd->tensors[i].name, strlen(sd->tensors[i].name)))
            return MBT_FAIL(MBT_ERR_ARG, "safetensors: tensor name '%s' is not valid UTF-8", sd->tensors[i].name);
    }
    for (size_t i = 0; i < sd->meta_count; i++)
        if (!mbt_utf8_valid(sd->meta[i].key, strlen(sd->meta[i].key)) ||
            !mbt_utf8_valid(sd->meta[i].value, strlen(sd->meta[i].value)))
            return MBT_FAIL(MBT_ERR_ARG, "safetensors: metadata '%s' is not valid UTF-8", sd->meta[i].key);
    size_t *off = offsets ? offsets : malloc((sd->count ? sd->count : 1) * sizeof *off);
    if (!off) return MBT_FAIL(MBT_ERR_NOMEM, "safetensors: no memory for %zu offsets", sd->count);
    /* Data layout: 8-byte elements first, then 4, 2, 1, so that each tensor is aligned to its element. */
    size_t pos = 0;
    for (size_t es = 8; es >= 1; es /= 2)
        for (size_t i = 0; i < sd->count; i++)
            if (mbt_dtype_size(sd->tensors[i].dtype) == es) {
                off[i] = pos;
                pos += sd->tensors[i].nbytes;
            }
    mbt_bytebuf b;
    mbt_bytebuf_init(&b);
    mbt_bytebuf_byte(&b, '{');
    int first = 1;
    if (sd->meta_count) {
        mbt_bytebuf_str(&b, "\"__metadata__\":{");
        for (size_t i = 0; i < sd->meta_count; i++) {
            if (i) mbt_bytebuf_byte(&b, ',');
            mbt_bytebuf_json_str(&b, sd->meta[i].key);
            mbt_bytebuf_byte(&b, ':');
            mbt_bytebuf_json_str(&b, sd->meta[i].value);
        }
        mbt_bytebuf_byte(&b, '}');
        first = 0;
    }
    for (size_t i = 0; i < sd->count; i++) {
        const mbt_sd_tensor *t = &sd->tensors[i];
        if (!first) mbt_bytebuf_byte(&b, ',');
        first = 0;
        mbt_bytebuf_json_str(&b, t->name);
        mbt_bytebuf_printf(&b, ":{\"dtype\":\"%s\",\"shape\":[", mbt_dtype_safetensors_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) mbt_bytebuf_printf(&b, d ? ",%lld" : "%lld", (long long)t->shape[d]);
        mbt_bytebuf_printf(&b, "],\"data_offsets\":[%zu,%zu]}", off[i], off[i] + t->nbytes);
    }
    mbt_bytebuf_byte(&b, '}');
    while ((8 + b.len) % 8) mbt_bytebuf_byte(&b, ' ');
    if (!offsets) free(off);
    if (b.failed) {
        mbt_bytebuf_free(&b);
        return MBT_FAIL(MBT_ERR_NOMEM, "safetensors: no memory for the header of %zu tensors", sd->count);
    }
    if (b.len > MBT_SAFETENSORS_MAX_HEADER) {
        mbt_bytebuf_free(&b);
        return MBT_FAIL(MBT_ERR_ARG, "safetensors: header of %zu tensors exceeds %u bytes", sd->count,
                        MBT_SAFETENSORS_MAX_HEADER);
    }
    *header = (char *)b.data;
    *header_len = b.len;
    return MBT_OK;
}

mbt_status mbt_safetensors_write(const char *path, const mbt_state_dict *sd) {
    char *header;
    size_t hlen;
    size_t *off = malloc((sd->count ? sd->count : 1) * sizeof *off);
    if (!off) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for %zu offsets", path, sd->count);
    mbt_status s = mbt_safetensors_header(sd, &header, &hlen, off);
    if (s) {
        free(off);
        return s;
    }
    mbt_atomic_file f;
    s = mbt_atomic_open(&f, path);
    if (!s) {
        unsigned char len8[8];
        for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
        s = mbt_atomic_write(&f, len8, 8);
        if (!s) s = mbt_atomic_write(&f, header, hlen);
        for (size_t es = 8; es >= 1 && !s; es /= 2)
            for (size_t i = 0; i < sd->count && !s; i++)
                if (mbt_dtype_size(sd->tensors[i].dtype) == es) s = mbt_atomic_write(&f, sd->tensors[i].data, sd->tensors[i].nbytes);
        if (!s) s = mbt_atomic_commit(&f);
        else mbt_atomic_abort(&f);
    }
    free(header);
    free(off);
    return s;
}
