/* Barlow Twins / Mixed BT with the d x d matrices formed (cheap when d <= B):
 *   C = z1n^T z2n / B,  E1 = C_MA - C_MA_gt = D1^T z1n / B,  E2 = C_MB - C_MB_gt = D2^T z2n / B,
 *   dL/dC = G_C (2 lambda_bt C_ij off the diagonal, 2 (C_ii - 1) on it),
 *   dL/dz1n (right factors) = z2n G_C^T / B + 2 kappa/B D1 E1,   dL/dz2n = z1n G_C / B + 2 kappa/B D2 E2,
 *   dL/dD1 = 2 kappa/B z1n E1^T,  dL/dD2 = 2 kappa/B z2n E2^T. */
#include <cblas.h>

#include "methods/barlow_twins_internal.h"

/* on = sum_i (C_ii - 1)^2, returns off = sum_{i != j} C_ij^2 (double accumulation). */
static double cov_terms(const float *c, int d, double *on) {
    double off = 0.0, o = 0.0;
#pragma omp parallel for reduction(+ : off, o) schedule(static)
    for (int i = 0; i < d; i++) {
        const float *r = c + (size_t)i * d;
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < d; j++) s += (double)r[j] * r[j];
        const double cii = r[i];
        off += s - cii * cii;
        o += (cii - 1.0) * (cii - 1.0);
    }
    *on = o;
    return off;
}

void mbt_bt_run_cov(mbt_bt_workspace *ws, const mbt_bt_job *job, mbt_bt_losses *out, float *g1, float *g2,
                    float *gq) {
    const int B = job->B, d = job->d;
    const long dd = (long)d * d;
    const float inv_b = 1.0f / B;
    float *c = ws->c;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, B, inv_b, ws->z1n, d, ws->z2n, d, 0.0f, c, d);
    out->off_diag = cov_terms(c, d, &out->on_diag);
    out->loss_bt = out->on_diag + job->lambda_bt * out->off_diag;
    if (job->reg) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, B, inv_b, ws->d1, d, ws->z1n, d, 0.0f, ws->e1, d);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, B, inv_b, job->d2, d, ws->z2n, d, 0.0f, ws->e2, d);
        out->loss_reg = job->kappa * (mbt_bt_dot(ws->e1, ws->e1, dd) + mbt_bt_dot(ws->e2, ws->e2, dd));
    }
    if (!job->grads) return;

    /* G_C in place of C. */
    const float lb2 = (float)(2.0 * job->lambda_bt);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < d; i++) {
        float *r = c + (size_t)i * d;
        const float cii = r[i];
#pragma omp simd
        for (int j = 0; j < d; j++) r[j] *= lb2;
        r[i] = 2.0f * (cii - 1.0f);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, d, d, inv_b, ws->z2n, d, c, d, 0.0f, g1, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, d, inv_b, ws->z1n, d, c, d, 0.0f, g2, d);
    if (!job->reg) return;
    const float sk = (float)(2.0 * job->kappa / B);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, d, sk, ws->d1, d, ws->e1, d, 1.0f, g1, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, d, sk, job->d2, d, ws->e2, d, 1.0f, g2, d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, d, d, sk, ws->z1n, d, ws->e1, d, 0.0f, gq, d);
    if (job->separate_d2)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, d, d, sk, ws->z2n, d, ws->e2, d, 0.0f, ws->q2, d);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, d, d, sk, ws->z2n, d, ws->e2, d, 1.0f, gq, d);
}
