/* Materialising the tensors of an unpickled state dict: bounds checks, shared storages, strided views. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"
#include "io/pth.h"

typedef struct {
    const char *key;
    mbt_dtype dtype;
    size_t nbytes;
    unsigned char *data;
} storage_slot;

typedef struct {
    storage_slot *slots; /* open addressing by key */
    size_t cap, n;
} storage_cache;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static storage_slot *cache_slot(storage_cache *c, const char *key) {
    size_t mask = c->cap - 1;
    for (size_t h = (size_t)hash_str(key) & mask;; h = (h + 1) & mask)
        if (!c->slots[h].key || !strcmp(c->slots[h].key, key)) return &c->slots[h];
}

static mbt_status cache_grow(storage_cache *c) {
    size_t cap = c->cap ? 2 * c->cap : 64;
    storage_slot *old = c->slots;
    size_t old_cap = c->cap;
    c->slots = calloc(cap, sizeof *c->slots);
    if (!c->slots) {
        c->slots = old;
        return MBT_FAIL(MBT_ERR_NOMEM, "no memory for a storage table of %zu entries", cap);
    }
    c->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key) *cache_slot(c, old[i].key) = old[i];
    free(old);
    return MBT_OK;
}

/* Largest element index a view touches: offset + sum((size - 1) * stride); -1 on overflow. */
static int64_t view_extent(const mbt_pv_tensor *t) {
    int64_t last = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        int64_t term;
        if (__builtin_mul_overflow(t->sizes[d] - 1, t->strides[d], &term) || __builtin_add_overflow(last, term, &last))
            return -1;
    }
    return last;
}

static int is_contiguous(const mbt_pv_tensor *t) {
    int64_t expect = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->sizes[d] != 1 && t->strides[d] != expect) return 0;
        expect *= t->sizes[d];
    }
    return 1;
}

/* Copies a strided view into a contiguous buffer (innermost dimension copied as a run when its
 * stride is 1). */
static void gather(const mbt_pv_tensor *t, size_t es, const unsigned char *src, unsigned char *dst, size_t numel) {
    if (t->ndim == 0) {
        memcpy(dst, src + (size_t)t->offset * es, es);
        return;
    }
    int nd = t->ndim;
    int64_t idx[MBT_SD_MAX_DIMS] = {0};
    size_t inner = (size_t)t->sizes[nd - 1];
    int run = t->strides[nd - 1] == 1;
    for (size_t done = 0; done < numel; done += inner) {
        int64_t base = t->offset;
        for (int d = 0; d < nd - 1; d++) base += idx[d] * t->strides[d];
        if (run) memcpy(dst, src + (size_t)base * es, inner * es);
        else
            for (size_t i = 0; i < inner; i++)
                memcpy(dst + i * es, src + (size_t)(base + (int64_t)i * t->strides[nd - 1]) * es, es);
        dst += inner * es;
        for (int d = nd - 2; d >= 0; d--) {
            if (++idx[d] < t->sizes[d]) break;
            idx[d] = 0;
        }
    }
}

static mbt_status extract_one(const char *what, const char *name, const mbt_pv_tensor *t, storage_cache *cache,
                              mbt_pth_storage_fn load, void *ctx, mbt_state_dict *sd) {
    char label[600], buf[200], buf2[200];
    snprintf(label, sizeof label, "%s: tensor '%s'", what, name);
    size_t es = mbt_dtype_size(t->storage.dtype), numel, nbytes, st_bytes;
    MBT_TRY(mbt_shape_numel(label, t->ndim, t->sizes, es, &numel, &nbytes));
    if (numel == 0) return mbt_state_dict_add(sd, name, t->storage.dtype, t->ndim, t->sizes, NULL, MBT_SD_COPY);
    int64_t st_numel = t->storage.numel;
    MBT_TRY(mbt_shape_numel(label, 1, &st_numel, es, NULL, &st_bytes));
    int64_t last = view_extent(t);
    if (last < 0 || last >= st_numel)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: view of size %s, stride %s, offset %lld reaches outside storage '%s' of %lld elements",
                        label, mbt_shape_str(buf, sizeof buf, t->ndim, t->sizes),
                        mbt_shape_str(buf2, sizeof buf2, t->ndim, t->strides), (long long)t->offset, t->storage.key,
                        (long long)st_numel);
    if (2 * (cache->n + 1) > cache->cap) MBT_TRY(cache_grow(cache));
    storage_slot *slot = cache_slot(cache, t->storage.key);
    if (!slot->key) {
        void *data = NULL;
        mbt_status s = load(ctx, &t->storage, st_bytes, &data);
        if (s) {
            char msg[700];
            snprintf(msg, sizeof msg, "%s", mbt_error_message());
            return MBT_FAIL(s, "%s: %s", label, msg);
        }
        MBT_TRY(mbt_state_dict_adopt(sd, data));
        slot->key = t->storage.key;
        slot->dtype = t->storage.dtype;
        slot->nbytes = st_bytes;
        slot->data = data;
        cache->n++;
    } else if (slot->nbytes != st_bytes) {
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: storage '%s' declared with %zu bytes here and %zu bytes elsewhere", label,
                        t->storage.key, st_bytes, slot->nbytes);
    }
    if (is_contiguous(t))
        return mbt_state_dict_add(sd, name, t->storage.dtype, t->ndim, t->sizes, slot->data + (size_t)t->offset * es,
                                  MBT_SD_BORROW);
    unsigned char *dst = malloc(nbytes);
    if (!dst) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for %zu bytes", label, nbytes);
    gather(t, es, slot->data, dst, numel);
    return mbt_state_dict_add(sd, name, t->storage.dtype, t->ndim, t->sizes, dst, MBT_SD_TAKE);
}

mbt_status mbt_pth_extract(const mbt_pvalue *dict, const char *what, mbt_pth_storage_fn load, void *ctx,
                           mbt_state_dict *sd) {
    if (mbt_pvalue_kind(dict) != MBT_PV_DICT)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: state dict is a %s, not a dict", what, mbt_pv_kind_name(mbt_pvalue_kind(dict)));
    storage_cache cache = {0};
    mbt_status s = MBT_OK;
    size_t n = mbt_pvalue_len(dict);
    for (size_t i = 0; i < n && !s; i++) {
        size_t klen;
        const char *k = mbt_pvalue_bytes(mbt_pvalue_dict_key(dict, i), &klen);
        if (!k) {
            s = MBT_FAIL(MBT_ERR_FORMAT, "%s: state dict entry %zu has a %s key, not a name", what, i,
                         mbt_pv_kind_name(mbt_pvalue_kind(mbt_pvalue_dict_key(dict, i))));
            break;
        }
        if (memchr(k, 0, klen) || klen > 4096) {
            s = MBT_FAIL(MBT_ERR_FORMAT, "%s: state dict entry %zu has an invalid name", what, i);
            break;
        }
        char *name = malloc(klen + 1);
        if (!name) {
            s = MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory", what);
            break;
        }
        memcpy(name, k, klen);
        name[klen] = 0;
        mbt_pv_tensor t;
        const mbt_pvalue *v = mbt_pvalue_dict_value(dict, i);
        if (mbt_pvalue_kind(v) != MBT_PV_TENSOR)
            s = MBT_FAIL(MBT_ERR_FORMAT, "%s: entry '%s' is a %s, not a tensor", what, name,
                         mbt_pv_kind_name(mbt_pvalue_kind(v)));
        else {
            mbt_pvalue_tensor(v, &t);
            s = extract_one(what, name, &t, &cache, load, ctx, sd);
            if (s && !strstr(mbt_error_message(), name)) {
                char msg[700];
                snprintf(msg, sizeof msg, "%s", mbt_error_message());
                s = MBT_FAIL(s, "%s: tensor '%s': %s", what, name, msg);
            }
        }
        free(name);
    }
    free(cache.slots);
    return s;
}
