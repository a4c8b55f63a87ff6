/* safetensors reader: validates the header and every tensor entry before anything is used. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/bytebuf.h"
#include "io/read_file.h"
#include "io/safetensors.h"

typedef struct {
    const char *name;
    mbt_dtype dtype;
    int ndim;
    int64_t shape[MBT_SD_MAX_DIMS];
    uint64_t begin, end;
} st_entry;

/* A JSON number that is an exact non-negative integer below 2^53. */
static int json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || floor(d) != d) return 0;
    *out = (uint64_t)d;
    return 1;
}

static mbt_status parse_entry(const char *what, const cJSON *item, size_t data_len, st_entry *e) {
    const char *name = item->string;
    if (!cJSON_IsObject(item))
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: tensor '%s': header entry is not a JSON object", what, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt)) return MBT_FAIL(MBT_ERR_FORMAT, "%s: tensor '%s': missing \"dtype\" string", what, name);
    if (!cJSON_IsArray(shape)) return MBT_FAIL(MBT_ERR_FORMAT, "%s: tensor '%s': missing \"shape\" array", what, name);
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: tensor '%s': \"data_offsets\" must be an array [begin, end]", what, name);
    int found = 0;
    for (int d = 0; d < MBT_DTYPE_COUNT; d++)
        if (!strcmp(dt->valuestring, mbt_dtype_safetensors_name((mbt_dtype)d))) {
            e->dtype = (mbt_dtype)d;
            found = 1;
        }
    if (!found)
        return MBT_FAIL(MBT_ERR_UNSUPPORTED,
                        "%s: tensor '%s': dtype \"%.32s\" is not supported (F32, F16, BF16, F64, I64, I32, U8)", what,
                        name, dt->valuestring);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > MBT_SD_MAX_DIMS)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: tensor '%s': %d dimensions (at most %d)", what, name, ndim, MBT_SD_MAX_DIMS);
    e->ndim = ndim;
    int d = 0;
    for (const cJSON *v = shape->child; v; v = v->next, d++) {
        uint64_t u;
        if (!json_uint(v, &u))
            return MBT_FAIL(MBT_ERR_FORMAT, "%s: tensor '%s': shape entry %d is not a non-negative integer", what, name, d);
        e->shape[d] = (int64_t)u;
    }
    if (!json_uint(offs->child, &e->begin) || !json_uint(offs->child->next, &e->end))
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: tensor '%s': data_offsets are not non-negative integers", what, name);
    if (e->begin > e->end || e->end > data_len)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] outside the data section of %zu bytes",
                        what, name, (unsigned long long)e->begin, (unsigned long long)e->end, data_len);
    char label[512];
    snprintf(label, sizeof label, "%s: tensor '%s'", what, name);
    size_t numel, nbytes;
    MBT_TRY(mbt_shape_numel(label, ndim, e->shape, mbt_dtype_size(e->dtype), &numel, &nbytes));
    if (e->end - e->begin != nbytes)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: tensor '%s': %llu data bytes, but %zu elements of %s need %zu", what, name,
                        (unsigned long long)(e->end - e->begin), numel, mbt_dtype_safetensors_name(e->dtype), nbytes);
    e->name = name;
    return MBT_OK;
}

static int by_begin(const void *a, const void *b) {
    const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static mbt_status check_overlaps(const char *what, st_entry *e, size_t n) {
    st_entry **p = malloc((n ? n : 1) * sizeof *p);
    if (!p) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory to check %zu tensors", what, n);
    for (size_t i = 0; i < n; i++) p[i] = &e[i];
    qsort(p, n, sizeof *p, by_begin);
    const st_entry *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i]->begin == p[i]->end) continue; /* empty tensors occupy nothing */
        if (prev && p[i]->begin < prev->end) {
            mbt_status s = MBT_FAIL(MBT_ERR_FORMAT, "%s: tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap", what,
                                    prev->name, (unsigned long long)prev->begin, (unsigned long long)prev->end,
                                    p[i]->name, (unsigned long long)p[i]->begin, (unsigned long long)p[i]->end);
            free(p);
            return s;
        }
        prev = p[i];
    }
    free(p);
    return MBT_OK;
}

static mbt_status parse_header(const char *what, const cJSON *root, const unsigned char *data, size_t data_len,
                               mbt_sd_mode mode, mbt_state_dict *sd) {
    if (!cJSON_IsObject(root)) return MBT_FAIL(MBT_ERR_FORMAT, "%s: header is not a JSON object", what);
    size_t n = 0;
    for (const cJSON *it = root->child; it; it = it->next) n++;
    st_entry *e = calloc(n ? n : 1, sizeof *e);
    if (!e) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for %zu header entries", what, n);
    size_t nt = 0;
    mbt_status s = MBT_OK;
    for (const cJSON *it = root->child; it && !s; it = it->next) {
        if (!it->string) s = MBT_FAIL(MBT_ERR_FORMAT, "%s: header entry without a name", what);
        else if (!strcmp(it->string, "__metadata__")) {
            if (!cJSON_IsObject(it)) s = MBT_FAIL(MBT_ERR_FORMAT, "%s: \"__metadata__\" is not an object", what);
            for (const cJSON *m = it->child; m && !s; m = m->next) {
                if (!cJSON_IsString(m))
                    s = MBT_FAIL(MBT_ERR_FORMAT, "%s: metadata \"%s\" is not a string", what, m->string);
                else s = mbt_state_dict_set_meta(sd, m->string, m->valuestring);
            }
        } else {
            s = parse_entry(what, it, data_len, &e[nt]);
            if (!s) nt++;
        }
    }
    if (!s) s = check_overlaps(what, e, nt);
    for (size_t i = 0; i < nt && !s; i++) {
        const void *p = data + e[i].begin;
        size_t align = mbt_dtype_size(e[i].dtype);
        mbt_sd_mode m = mode;
        if (m == MBT_SD_BORROW && ((uintptr_t)p % align)) m = MBT_SD_COPY; /* keep element loads aligned */
        s = mbt_state_dict_add(sd, e[i].name, e[i].dtype, e[i].ndim, e[i].shape, e[i].end > e[i].begin ? p : NULL, m);
        if (s) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", mbt_error_message());
            s = MBT_FAIL(s, "%s: tensor '%s': %s", what, e[i].name, msg);
        }
    }
    free(e);
    return s;
}

mbt_status mbt_safetensors_parse(const void *buf, size_t len, const char *what, mbt_sd_mode mode,
                                 mbt_state_dict *sd) {
    const unsigned char *b = buf;
    MBT_CHECK_ARG(mode != MBT_SD_TAKE, "%s: safetensors parse takes MBT_SD_COPY or MBT_SD_BORROW", what);
    if (len < 8) return MBT_FAIL(MBT_ERR_FORMAT, "%s: %zu bytes, too short for a safetensors file", what, len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | b[i];
    if (n > MBT_SAFETENSORS_MAX_HEADER)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: header size %llu exceeds the limit of %u bytes", what,
                        (unsigned long long)n, MBT_SAFETENSORS_MAX_HEADER);
    if (n > len - 8)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: header size %llu exceeds the file (%zu bytes): truncated file?", what,
                        (unsigned long long)n, len);
    if (n < 2 || b[8] != '{')
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: not a safetensors file (header does not start with '{')", what);
    if (!mbt_utf8_valid((const char *)b + 8, (size_t)n))
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: header is not valid UTF-8", what);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)b + 8, (size_t)n, &end, 0);
    if (!root) {
        size_t at = cJSON_GetErrorPtr() ? (size_t)(cJSON_GetErrorPtr() - (const char *)b - 8) : 0;
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: invalid JSON header (near byte %zu of %llu)", what, at,
                        (unsigned long long)n);
    }
    for (const char *p = end; p < (const char *)b + 8 + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != 0) {
            cJSON_Delete(root);
            return MBT_FAIL(MBT_ERR_FORMAT, "%s: unexpected bytes after the JSON header", what);
        }
    size_t count0 = sd->count;
    mbt_status s = parse_header(what, root, b + 8 + n, len - 8 - (size_t)n, mode, sd);
    cJSON_Delete(root);
    if (s)
        while (sd->count > count0) mbt_state_dict_remove(sd, sd->count - 1);
    return s;
}

mbt_status mbt_safetensors_read(const char *path, mbt_state_dict *sd) {
    void *buf;
    size_t len;
    MBT_TRY(mbt_read_file(path, 0, &buf, &len));
    MBT_TRY(mbt_state_dict_adopt(sd, buf)); /* first, so that borrowed tensors never dangle */
    mbt_status s = mbt_safetensors_parse(buf, len, path, MBT_SD_BORROW, sd);
    if (s) {
        sd->n_buffers--;
        free(buf);
    }
    return s;
}
