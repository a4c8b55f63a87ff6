/* Cross-correlation loss parts on the CPU: OpenMP loops, sums in double. */
#include "ops/backend_cpu.h"

mbt_status mbt_xcorr_diagonal_cpu(int B, int d, const float *x, const float *y, double *acc, float *diag, double *on,
                                  double *sq) {
    /* blocks of 128 columns; each block's sums live in a local array, rows read in contiguous runs */
#pragma omp parallel for schedule(static)
    for (int j0 = 0; j0 < d; j0 += 128) {
        const int w = j0 + 128 < d ? 128 : d - j0;
        double s[128];
        for (int j = 0; j < w; j++) s[j] = 0.0;
        for (int b = 0; b < B; b++) {
            const float *xr = x + (size_t)b * d + j0, *yr = y + (size_t)b * d + j0;
#pragma omp simd
            for (int j = 0; j < w; j++) s[j] += (double)xr[j] * yr[j];
        }
        for (int j = 0; j < w; j++) acc[j0 + j] = s[j];
    }
    double o = 0.0, s2 = 0.0;
    for (int j = 0; j < d; j++) {
        double c = acc[j] / B;
        diag[j] = (float)c;
        o += (c - 1.0) * (c - 1.0);
        s2 += c * c;
    }
    *on = o;
    *sq = s2;
    return MBT_OK;
}

mbt_status mbt_xcorr_diag_grad_cpu(int B, int d, float lambda, const float *diag, const float *x, const float *y,
                                   float *gx, float *gy) {
    const float inv_b = 1.0f / B;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const float *xr = x + (size_t)b * d, *yr = y + (size_t)b * d;
        float *o1 = gx + (size_t)b * d, *o2 = gy + (size_t)b * d;
#pragma omp simd
        for (int j = 0; j < d; j++) {
            const float c = diag[j];
            const float g = (2.0f * (c - 1.0f) - 2.0f * lambda * c) * inv_b;
            o1[j] += g * yr[j];
            o2[j] += g * xr[j];
        }
    }
    return MBT_OK;
}

mbt_status mbt_xcorr_cov_terms_cpu(int d, const float *c, double *on, double *off) {
    double f = 0.0, o = 0.0;
#pragma omp parallel for reduction(+ : f, o) schedule(static)
    for (int i = 0; i < d; i++) {
        const float *r = c + (size_t)i * d;
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < d; j++) s += (double)r[j] * r[j];
        const double cii = r[i];
        f += s - cii * cii;
        o += (cii - 1.0) * (cii - 1.0);
    }
    *on = o;
    *off = f;
    return MBT_OK;
}

mbt_status mbt_xcorr_cov_grad_cpu(int d, float lambda2, float *c) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < d; i++) {
        float *r = c + (size_t)i * d;
        const float cii = r[i];
#pragma omp simd
        for (int j = 0; j < d; j++) r[j] *= lambda2;
        r[i] = 2.0f * (cii - 1.0f);
    }
    return MBT_OK;
}
