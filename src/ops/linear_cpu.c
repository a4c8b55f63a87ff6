/* Linear layers (OpenBLAS sgemm) and row L2 normalisation on the CPU. */
#include <cblas.h>
#include <math.h>

#include "ops/backend_cpu.h"

mbt_status mbt_linear_forward_cpu(int n, int in, int out, const float *x, const float *w,
                              const float *b, float *y) {
    if (n < 1 || in < 1 || out < 1)
        return MBT_FAIL(MBT_ERR_SHAPE, "linear: invalid shape n=%d in=%d out=%d", n, in, out);
    float beta = 0.0f;
    if (b) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < out; j++) y[(size_t)i * out + j] = b[j];
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in, beta, y, out);
    return MBT_OK;
}

mbt_status mbt_linear_backward_cpu(int n, int in, int out, const float *x, const float *w,
                               const float *dy, float *dx, float *dw, float *db) {
    if (n < 1 || in < 1 || out < 1)
        return MBT_FAIL(MBT_ERR_SHAPE, "linear: invalid shape n=%d in=%d out=%d", n, in, out);
    if (dx) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
    if (dw) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
    if (db)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < out; j++) db[j] += dy[(size_t)i * out + j];
    return MBT_OK;
}

#define L2_EPS 1e-12

mbt_status mbt_l2norm_forward_cpu(int n, int d, const float *x, float *y) {
#pragma omp parallel for
    for (int i = 0; i < n; i++) {
        const float *r = x + (size_t)i * d;
        double ss = 0;
        for (int j = 0; j < d; j++) ss += (double)r[j] * r[j];
        double norm = sqrt(ss);
        float inv = (float)(1.0 / (norm > L2_EPS ? norm : L2_EPS));
        for (int j = 0; j < d; j++) y[(size_t)i * d + j] = r[j] * inv;
    }
    return MBT_OK;
}

/* With y = x/|x|: dx = (dy - y (y.dy)) / |x|; below the clamp y = x/eps and dx = dy/eps. */
mbt_status mbt_l2norm_backward_cpu(int n, int d, const float *x, const float *dy, float *dx) {
#pragma omp parallel for
    for (int i = 0; i < n; i++) {
        const float *r = x + (size_t)i * d, *g = dy + (size_t)i * d;
        float *o = dx + (size_t)i * d;
        double ss = 0, dot = 0;
        for (int j = 0; j < d; j++) {
            ss += (double)r[j] * r[j];
            dot += (double)r[j] * g[j];
        }
        double norm = sqrt(ss);
        if (norm > L2_EPS) {
            double inv = 1.0 / norm, proj = dot * inv * inv;
            for (int j = 0; j < d; j++) o[j] = (float)((g[j] - r[j] * proj) * inv);
        } else {
            for (int j = 0; j < d; j++) o[j] = (float)(g[j] / L2_EPS);
        }
    }
    return MBT_OK;
}
