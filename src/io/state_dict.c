/* State dicts: tensor list, name index, metadata and backing buffers. */
#include "io/state_dict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"

void mbt_state_dict_init(mbt_state_dict *sd) { memset(sd, 0, sizeof *sd); }

void mbt_state_dict_free(mbt_state_dict *sd) {
    if (!sd) return;
    for (size_t i = 0; i < sd->count; i++) {
        free(sd->tensors[i].name);
        if (sd->tensors[i].owned) free(sd->tensors[i].data);
    }
    for (size_t i = 0; i < sd->meta_count; i++) {
        free(sd->meta[i].key);
        free(sd->meta[i].value);
    }
    for (size_t i = 0; i < sd->n_buffers; i++) free(sd->buffers[i]);
    free(sd->tensors);
    free(sd->meta);
    free(sd->buffers);
    free(sd->index);
    mbt_state_dict_init(sd);
}

mbt_status mbt_shape_numel(const char *what, int ndim, const int64_t *shape, size_t elem_size, size_t *numel,
                           size_t *nbytes) {
    if (ndim < 0 || ndim > MBT_SD_MAX_DIMS)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: %d dimensions (at most %d supported)", what, ndim, MBT_SD_MAX_DIMS);
    const uint64_t limit = (uint64_t)1 << 62; /* sizes stay far from overflow (size_t is 64-bit) */
    uint64_t n = 1;
    int zero = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return MBT_FAIL(MBT_ERR_FORMAT, "%s: negative dimension %lld", what, (long long)shape[d]);
        if (shape[d] == 0) zero = 1;
    }
    if (zero) n = 0;
    else
        for (int d = 0; d < ndim; d++) {
            if ((uint64_t)shape[d] > limit / n) {
                char buf[160];
                return MBT_FAIL(MBT_ERR_FORMAT, "%s: shape %s has too many elements", what,
                                mbt_shape_str(buf, sizeof buf, ndim, shape));
            }
            n *= (uint64_t)shape[d];
        }
    if (elem_size && n > limit / elem_size)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: %llu elements of %zu bytes overflow", what, (unsigned long long)n, elem_size);
    if (numel) *numel = (size_t)n;
    if (nbytes) *nbytes = (size_t)(n * elem_size);
    return MBT_OK;
}

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Inserts tensor i into the index (which has room); returns the index of an equal name, or -1. */
static long index_insert(mbt_state_dict *sd, size_t i) {
    size_t mask = sd->index_cap - 1;
    for (size_t h = (size_t)name_hash(sd->tensors[i].name) & mask;; h = (h + 1) & mask) {
        size_t v = sd->index[h];
        if (!v) {
            sd->index[h] = i + 1;
            return -1;
        }
        if (!strcmp(sd->tensors[v - 1].name, sd->tensors[i].name)) return (long)(v - 1);
    }
}

mbt_status mbt_state_dict_reindex(mbt_state_dict *sd) {
    size_t cap = 16;
    while (cap < 2 * sd->count + 4) cap *= 2;
    if (cap != sd->index_cap) {
        size_t *idx = calloc(cap, sizeof *idx);
        if (!idx) return MBT_FAIL(MBT_ERR_NOMEM, "state dict: no memory for a name index of %zu entries", cap);
        free(sd->index);
        sd->index = idx;
        sd->index_cap = cap;
    } else {
        memset(sd->index, 0, cap * sizeof *sd->index);
    }
    sd->index_valid = 0;
    for (size_t i = 0; i < sd->count; i++)
        if (index_insert(sd, i) >= 0)
            return MBT_FAIL(MBT_ERR_ARG, "state dict: duplicate tensor name '%s'", sd->tensors[i].name);
    sd->index_valid = 1;
    return MBT_OK;
}

long mbt_state_dict_index(const mbt_state_dict *sd, const char *name) {
    if (sd->index_valid && sd->index_cap) {
        size_t mask = sd->index_cap - 1;
        for (size_t h = (size_t)name_hash(name) & mask;; h = (h + 1) & mask) {
            size_t v = sd->index[h];
            if (!v) return -1;
            if (!strcmp(sd->tensors[v - 1].name, name)) return (long)(v - 1);
        }
    }
    for (size_t i = 0; i < sd->count; i++)
        if (!strcmp(sd->tensors[i].name, name)) return (long)i;
    return -1;
}

const mbt_sd_tensor *mbt_state_dict_find(const mbt_state_dict *sd, const char *name) {
    long i = mbt_state_dict_index(sd, name);
    return i < 0 ? NULL : &sd->tensors[i];
}

static mbt_status add_fail(void *data, mbt_sd_mode mode, mbt_status s) {
    if (mode == MBT_SD_TAKE) free(data);
    return s;
}

mbt_status mbt_state_dict_add(mbt_state_dict *sd, const char *name, mbt_dtype dtype, int ndim, const int64_t *shape,
                              const void *data, mbt_sd_mode mode) {
    void *d = (void *)data;
    if (!name) return add_fail(d, mode, MBT_FAIL(MBT_ERR_ARG, "state dict: tensor without a name"));
    size_t es = mbt_dtype_size(dtype);
    if (!es) return add_fail(d, mode, MBT_FAIL(MBT_ERR_ARG, "state dict: tensor '%s' has an invalid dtype %d", name, (int)dtype));
    size_t numel, nbytes;
    mbt_status s = mbt_shape_numel(name, ndim, shape, es, &numel, &nbytes);
    if (s) return add_fail(d, mode, s);
    if (nbytes && !data) return add_fail(d, mode, MBT_FAIL(MBT_ERR_ARG, "state dict: tensor '%s' has no data", name));
    if (!sd->index_valid || sd->index_cap < 2 * (sd->count + 1) + 2) {
        s = mbt_state_dict_reindex(sd);
        if (s) return add_fail(d, mode, s);
    }
    if (mbt_state_dict_index(sd, name) >= 0)
        return add_fail(d, mode, MBT_FAIL(MBT_ERR_ARG, "state dict: duplicate tensor name '%s'", name));
    if (sd->count == sd->cap) {
        size_t cap = sd->cap ? 2 * sd->cap : 16;
        mbt_sd_tensor *t = realloc(sd->tensors, cap * sizeof *t);
        if (!t) return add_fail(d, mode, MBT_FAIL(MBT_ERR_NOMEM, "state dict: no memory for %zu tensors", cap));
        sd->tensors = t;
        sd->cap = cap;
    }
    mbt_sd_tensor *t = &sd->tensors[sd->count];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) return add_fail(d, mode, MBT_FAIL(MBT_ERR_NOMEM, "state dict: no memory for name '%s'", name));
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = numel;
    t->nbytes = nbytes;
    if (mode == MBT_SD_COPY) {
        t->data = malloc(nbytes ? nbytes : 1);
        if (!t->data) {
            free(t->name);
            return MBT_FAIL(MBT_ERR_NOMEM, "state dict: no memory for tensor '%s' (%zu bytes)", name, nbytes);
        }
        if (nbytes) memcpy(t->data, data, nbytes);
        t->owned = 1;
    } else {
        t->data = d;
        t->owned = mode == MBT_SD_TAKE;
    }
    sd->count++;
    index_insert(sd, sd->count - 1);
    return MBT_OK;
}

mbt_status mbt_state_dict_set_name(mbt_state_dict *sd, size_t i, const char *name) {
    MBT_CHECK_ARG(i < sd->count, "state dict: tensor index %zu out of range (%zu tensors)", i, sd->count);
    char *n = strdup(name);
    if (!n) return MBT_FAIL(MBT_ERR_NOMEM, "state dict: no memory for name '%s'", name);
    free(sd->tensors[i].name);
    sd->tensors[i].name = n;
    sd->index_valid = 0;
    return MBT_OK;
}

void mbt_state_dict_remove(mbt_state_dict *sd, size_t i) {
    if (i >= sd->count) return;
    free(sd->tensors[i].name);
    if (sd->tensors[i].owned) free(sd->tensors[i].data);
    memmove(&sd->tensors[i], &sd->tensors[i + 1], (sd->count - i - 1) * sizeof *sd->tensors);
    sd->count--;
    sd->index_valid = 0;
}

mbt_status mbt_state_dict_adopt(mbt_state_dict *sd, void *buffer) {
    if (sd->n_buffers == sd->buffers_cap) {
        size_t cap = sd->buffers_cap ? 2 * sd->buffers_cap : 8;
        void **b = realloc(sd->buffers, cap * sizeof *b);
        if (!b) {
            free(buffer);
            return MBT_FAIL(MBT_ERR_NOMEM, "state dict: no memory for %zu buffers", cap);
        }
        sd->buffers = b;
        sd->buffers_cap = cap;
    }
    sd->buffers[sd->n_buffers++] = buffer;
    return MBT_OK;
}

mbt_status mbt_state_dict_own_all(mbt_state_dict *sd) {
    for (size_t i = 0; i < sd->count; i++) {
        mbt_sd_tensor *t = &sd->tensors[i];
        if (t->owned) continue;
        void *p = malloc(t->nbytes ? t->nbytes : 1);
        if (!p) return MBT_FAIL(MBT_ERR_NOMEM, "state dict: no memory to copy tensor '%s' (%zu bytes)", t->name, t->nbytes);
        if (t->nbytes) memcpy(p, t->data, t->nbytes);
        t->data = p;
        t->owned = 1;
    }
    return MBT_OK;
}

mbt_status mbt_state_dict_set_meta(mbt_state_dict *sd, const char *key, const char *value) {
    MBT_CHECK_ARG(key && value, "state dict: metadata key and value must not be NULL");
    char *v = strdup(value);
    if (!v) return MBT_FAIL(MBT_ERR_NOMEM, "state dict: no memory for metadata '%s'", key);
    for (size_t i = 0; i < sd->meta_count; i++)
        if (!strcmp(sd->meta[i].key, key)) {
            free(sd->meta[i].value);
            sd->meta[i].value = v;
            return MBT_OK;
        }
    if (sd->meta_count == sd->meta_cap) {
        size_t cap = sd->meta_cap ? 2 * sd->meta_cap : 8;
        mbt_sd_meta *m = realloc(sd->meta, cap * sizeof *m);
        if (!m) {
            free(v);
            return MBT_FAIL(MBT_ERR_NOMEM, "state dict: no memory for metadata '%s'", key);
        }
        sd->meta = m;
        sd->meta_cap = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return MBT_FAIL(MBT_ERR_NOMEM, "state dict: no memory for metadata '%s'", key);
    }
    sd->meta[sd->meta_count].key = k;
    sd->meta[sd->meta_count].value = v;
    sd->meta_count++;
    return MBT_OK;
}

const char *mbt_state_dict_get_meta(const mbt_state_dict *sd, const char *key) {
    for (size_t i = 0; i < sd->meta_count; i++)
        if (!strcmp(sd->meta[i].key, key)) return sd->meta[i].value;
    return NULL;
}

size_t mbt_state_dict_nbytes(const mbt_state_dict *sd) {
    size_t n = 0;
    for (size_t i = 0; i < sd->count; i++) n += sd->tensors[i].nbytes;
    return n;
}
