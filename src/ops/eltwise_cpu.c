/* Element-wise operations on the CPU: OpenMP loops the compiler vectorises. */
#include <string.h>

#include "ops/backend_cpu.h"

mbt_status mbt_relu_forward_cpu(size_t n, const float *x, float *y) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return MBT_OK;
}

mbt_status mbt_relu_backward_cpu(size_t n, const float *y, const float *dy, float *dx) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    return MBT_OK;
}

mbt_status mbt_add_relu_forward_cpu(size_t n, const float *a, const float *b, float *y) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        float s = a[i] + b[i];
        y[i] = s > 0.0f ? s : 0.0f;
    }
    return MBT_OK;
}

mbt_status mbt_add_cpu(size_t n, const float *a, const float *b, float *y) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
    return MBT_OK;
}

mbt_status mbt_axpy_cpu(size_t n, float alpha, const float *x, float *y) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
    return MBT_OK;
}

mbt_status mbt_axpby_cpu(size_t count, float a, const float *x, float b, const float *y, float *out) {
    const long n = (long)count;
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) out[i] = a * x[i] + b * y[i];
    return MBT_OK;
}

mbt_status mbt_axpy_diff_cpu(size_t count, float alpha, const float *x, const float *y, float *out) {
    const long n = (long)count;
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) out[i] += alpha * (x[i] - y[i]);
    return MBT_OK;
}

mbt_status mbt_zero_cpu(size_t n, float *x) {
    memset(x, 0, n * sizeof(float));
    return MBT_OK;
}

mbt_status mbt_copy_cpu(size_t n, const float *x, float *y) {
    if (n && x != y) memcpy(y, x, n * sizeof(float));
    return MBT_OK;
}
