/* Element-wise operations on the CPU: OpenMP loops the compiler vectorises. */
#include <string.h>

#include "ops/eltwise.h"

#define CPU_ONLY(name)                                                                          \
    if (device != MBT_DEVICE_CPU)                                                               \
        return MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s: device %s is not built in", name, mbt_device_name(device))

mbt_status mbt_relu_forward(mbt_device device, size_t n, const float *x, float *y) {
    CPU_ONLY("relu");
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return MBT_OK;
}

mbt_status mbt_relu_backward(mbt_device device, size_t n, const float *y, const float *dy, float *dx) {
    CPU_ONLY("relu");
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    return MBT_OK;
}

mbt_status mbt_add_relu_forward(mbt_device device, size_t n, const float *a, const float *b, float *y) {
    CPU_ONLY("add_relu");
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        float s = a[i] + b[i];
        y[i] = s > 0.0f ? s : 0.0f;
    }
    return MBT_OK;
}

mbt_status mbt_add(mbt_device device, size_t n, const float *a, const float *b, float *y) {
    CPU_ONLY("add");
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
    return MBT_OK;
}

mbt_status mbt_axpy(mbt_device device, size_t n, float alpha, const float *x, float *y) {
    CPU_ONLY("axpy");
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
    return MBT_OK;
}

mbt_status mbt_zero(mbt_device device, size_t n, float *x) {
    CPU_ONLY("zero");
    memset(x, 0, n * sizeof(float));
    return MBT_OK;
}
