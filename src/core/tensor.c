/* Tensor helpers: element counts, shape printing, shape checks. */
#include "core/tensor.h"

#include <stdio.h>
#include <string.h>

mbt_tensor mbt_tensor_make(float *data, int ndim, const int64_t *shape) {
    mbt_tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.ndim = ndim < 0 ? 0 : (ndim > MBT_MAX_DIMS ? MBT_MAX_DIMS : ndim);
    for (int i = 0; i < t.ndim; i++) t.shape[i] = shape[i];
    t.device = MBT_DEVICE_CPU;
    return t;
}

int64_t mbt_tensor_numel(const mbt_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

const char *mbt_shape_str(char *buf, int size, int ndim, const int64_t *shape) {
    int at = snprintf(buf, (size_t)size, "[");
    for (int i = 0; i < ndim && at < size; i++)
        at += snprintf(buf + at, (size_t)(size - at), i ? ",%lld" : "%lld", (long long)shape[i]);
    if (at < size) snprintf(buf + at, (size_t)(size - at), "]");
    return buf;
}

mbt_status mbt_tensor_check_same_shape(const char *what, const mbt_tensor *a, const mbt_tensor *b) {
    int same = a->ndim == b->ndim;
    for (int i = 0; same && i < a->ndim; i++) same = a->shape[i] == b->shape[i];
    if (same) return MBT_OK;
    char sa[96], sb[96];
    return MBT_FAIL(MBT_ERR_SHAPE, "%s: shapes %s and %s differ", what,
                    mbt_shape_str(sa, sizeof sa, a->ndim, a->shape),
                    mbt_shape_str(sb, sizeof sb, b->ndim, b->shape));
}

const char *mbt_device_name(mbt_device device) { return device == MBT_DEVICE_CUDA ? "cuda" : "cpu"; }
