/* Barlow Twins / Mixed BT in B x B Gram form (cheap when B < d): with K1 = z1n z1n^T, K2 = z2n z2n^T,
 * KD = D D^T,
 *   sum_ij C_ij^2              = <K1, K2> / B^2
 *   ||C_MA - C_MA_gt||_F^2     = ||D1^T z1n||^2 / B^2 = <KD1, K1> / B^2      (likewise C_MB with D2, K2)
 *   dL/dz1n (right factors)    = 2/B^2 (lambda_bt K2 + kappa KD1) z1n + z2n diag(g) / B
 *   dL/dz2n (right factors)    = 2/B^2 (lambda_bt K1 + kappa KD2) z2n + z1n diag(g) / B
 *   dL/dD1 = 2 kappa/B^2 K1 D1,  dL/dD2 = 2 kappa/B^2 K2 D2   (D1 == D2: 2 kappa/B^2 (K1 + K2) D)
 * where g_i = 2 (C_ii - 1) - 2 lambda_bt C_ii comes from the diagonal terms. */
#include <cblas.h>

#include "methods/barlow_twins_internal.h"

/* K = X X^T for X [B, d] (ssyrk, then the upper triangle mirrored so K is a full matrix). */
static void gram(int B, int d, const float *x, float *k) {
    cblas_ssyrk(CblasRowMajor, CblasLower, CblasNoTrans, B, d, 1.0f, x, d, 0.0f, k, B);
#pragma omp parallel for schedule(dynamic, 16)
    for (int i = 0; i < B; i++)
        for (int j = i + 1; j < B; j++) k[(size_t)i * B + j] = k[(size_t)j * B + i];
}

/* out = a * x + b * y over n floats. */
static void combine(long n, float a, const float *restrict x, float b, const float *restrict y,
                    float *restrict out) {
#pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) out[i] = a * x[i] + b * y[i];
}

/* C_ii = sum_b z1n[b,i] z2n[b,i] / B into ws->diag; returns on = sum (C_ii-1)^2 and *sq = sum C_ii^2. */
static double diagonal(mbt_bt_workspace *ws, int B, int d, double *sq) {
    double *acc = ws->acc;
#pragma omp parallel for schedule(static)
    for (int j0 = 0; j0 < d; j0 += 128) {
        const int w = j0 + 128 < d ? 128 : d - j0;
        double s[128];
        for (int j = 0; j < w; j++) s[j] = 0.0;
        for (int b = 0; b < B; b++) {
            const float *x = ws->z1n + (size_t)b * d + j0, *y = ws->z2n + (size_t)b * d + j0;
#pragma omp simd
            for (int j = 0; j < w; j++) s[j] += (double)x[j] * y[j];
        }
        for (int j = 0; j < w; j++) acc[j0 + j] = s[j];
    }
    double on = 0.0, s2 = 0.0;
    for (int j = 0; j < d; j++) {
        double c = acc[j] / B;
        ws->diag[j] = (float)c;
        on += (c - 1.0) * (c - 1.0);
        s2 += c * c;
    }
    *sq = s2;
    return on;
}

void mbt_bt_run_gram(mbt_bt_workspace *ws, const mbt_bt_job *job, mbt_bt_losses *out, float *g1, float *g2,
                     float *gq) {
    const int B = job->B, d = job->d;
    const long bb = (long)B * B;
    const double inv_b2 = 1.0 / ((double)B * B);
    gram(B, d, ws->z1n, ws->k1);
    gram(B, d, ws->z2n, ws->k2);
    double diag_sq;
    out->on_diag = diagonal(ws, B, d, &diag_sq);
    out->off_diag = mbt_bt_dot(ws->k1, ws->k2, bb) * inv_b2 - diag_sq;
    out->loss_bt = out->on_diag + job->lambda_bt * out->off_diag;

    const float *kd2 = ws->kd1;
    if (job->reg) {
        gram(B, d, ws->d1, ws->kd1);
        if (job->separate_d2) {
            gram(B, d, job->d2, ws->kd2);
            kd2 = ws->kd2;
        }
        out->loss_reg = job->kappa * inv_b2 * (mbt_bt_dot(ws->kd1, ws->k1, bb) + mbt_bt_dot(kd2, ws->k2, bb));
    }
    if (!job->grads) return;

    const float s = (float)(2.0 * inv_b2), lb = (float)job->lambda_bt, kap = (float)job->kappa;
    /* Right-factor paths through C (and C_MA, C_MB). */
    if (job->reg) combine(bb, lb, ws->k2, kap, ws->kd1, ws->kmix);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, B, job->reg ? s : s * lb,
                job->reg ? ws->kmix : ws->k2, B, ws->z1n, d, 0.0f, g1, d);
    if (job->reg) combine(bb, lb, ws->k1, kap, kd2, ws->kmix);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, B, job->reg ? s : s * lb,
                job->reg ? ws->kmix : ws->k1, B, ws->z2n, d, 0.0f, g2, d);
    /* Diagonal terms: d/dz1n[b,i] += g_i z2n[b,i] / B, d/dz2n[b,i] += g_i z1n[b,i] / B. */
    const float inv_b = 1.0f / B;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        const float *x = ws->z1n + (size_t)b * d, *y = ws->z2n + (size_t)b * d;
        float *o1 = g1 + (size_t)b * d, *o2 = g2 + (size_t)b * d;
#pragma omp simd
        for (int j = 0; j < d; j++) {
            const float c = ws->diag[j];
            const float g = (2.0f * (c - 1.0f) - 2.0f * lb * c) * inv_b;
            o1[j] += g * y[j];
            o2[j] += g * x[j];
        }
    }
    if (!job->reg) return;
    /* dL/dD1 (and dL/dD2). */
    const float sk = s * kap;
    if (job->separate_d2) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, B, sk, ws->k1, B, ws->d1, d, 0.0f, gq, d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, B, sk, ws->k2, B, job->d2, d, 0.0f, ws->q2, d);
    } else {
        combine(bb, 1.0f, ws->k1, 1.0f, ws->k2, ws->kmix);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, B, sk, ws->kmix, B, ws->d1, d, 0.0f, gq, d);
    }
}
