/* Reductions in double on the CPU: OpenMP reductions. */
#include "ops/backend_cpu.h"

mbt_status mbt_dot_cpu(size_t count, const float *x, const float *y, double *out) {
    const long n = (long)count;
    double s = 0.0;
#pragma omp parallel for simd reduction(+ : s) schedule(static)
    for (long i = 0; i < n; i++) s += (double)x[i] * y[i];
    *out = s;
    return MBT_OK;
}

mbt_status mbt_dot_accumulate_cpu(size_t n, const float *x, const float *y, double scale, double shift, double *acc) {
    double s;
    mbt_dot_cpu(n, x, y, &s);
    *acc += shift + scale * s;
    return MBT_OK;
}

mbt_status mbt_sqdist_accumulate_cpu(size_t count, const float *x, const float *y, double scale, double *acc) {
    const long n = (long)count;
    double s = 0.0;
#pragma omp parallel for simd reduction(+ : s) schedule(static)
    for (long i = 0; i < n; i++) {
        const double t = (double)x[i] - y[i];
        s += t * t;
    }
    *acc += scale * s;
    return MBT_OK;
}
