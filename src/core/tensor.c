/* Tensor helpers: element counts, shape printing, shape checks. */
#include "core/tensor.h"

#include <stdio.h>
#include <string.h>

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

const char *mbt_device_name(mbt_device device) { return device == MBT_DEVICE_CUDA ? "cuda" : "cpu"; }
