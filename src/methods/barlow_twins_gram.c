/* Barlow Twins / Mixed BT in B x B Gram form (cheap when B < d): with K1 = z1n z1n^T, K2 = z2n z2n^T,
 * KD = D D^T,
 *   sum_ij C_ij^2              = <K1, K2> / B^2
 *   ||C_MA - C_MA_gt||_F^2     = ||D1^T z1n||^2 / B^2 = <KD1, K1> / B^2      (likewise C_MB with D2, K2)
 *   dL/dz1n (right factors)    = 2/B^2 (lambda_bt K2 + kappa KD1) z1n + z2n diag(g) / B
 *   dL/dz2n (right factors)    = 2/B^2 (lambda_bt K1 + kappa KD2) z2n + z1n diag(g) / B
 *   dL/dD1 = 2 kappa/B^2 K1 D1,  dL/dD2 = 2 kappa/B^2 K2 D2   (D1 == D2: 2 kappa/B^2 (K1 + K2) D)
 * where g_i = 2 (C_ii - 1) - 2 lambda_bt C_ii comes from the diagonal terms. */
#include "methods/barlow_twins_internal.h"
#include "ops/blas.h"
#include "ops/eltwise.h"
#include "ops/reduce.h"
#include "ops/xcorr.h"

/* G [B, d] = alpha K X for K [B, B], X [B, d]. */
static mbt_status kx(mbt_device dev, int B, int d, float alpha, const float *k, const float *x, float *g) {
    return mbt_sgemm(dev, 0, 0, B, d, B, alpha, k, B, x, d, 0.0f, g, d);
}

mbt_status mbt_bt_run_gram(mbt_bt_workspace *ws, const mbt_bt_job *job, float *g1, float *g2, float *gq) {
    const mbt_device dev = ws->plan.device;
    mbt_bt_sums *sums = ws->sums;
    const int B = job->B, d = job->d;
    const size_t bb = (size_t)B * B;
    const double inv_b2 = 1.0 / ((double)B * B);
    MBT_TRY(mbt_ssyrk(dev, B, d, 1.0f, ws->z1n, d, 0.0f, ws->k1, B));
    MBT_TRY(mbt_ssyrk(dev, B, d, 1.0f, ws->z2n, d, 0.0f, ws->k2, B));
    MBT_TRY(mbt_xcorr_diagonal(dev, B, d, ws->z1n, ws->z2n, ws->acc, ws->diag, &sums->on_diag, &sums->diag_sq));
    MBT_TRY(mbt_dot(dev, bb, ws->k1, ws->k2, ws->dot_scratch, &sums->dot[0]));
    const float *kd2 = ws->kd1;
    if (job->reg) {
        MBT_TRY(mbt_ssyrk(dev, B, d, 1.0f, ws->d1, d, 0.0f, ws->kd1, B));
        if (job->separate_d2) {
            MBT_TRY(mbt_ssyrk(dev, B, d, 1.0f, job->d2, d, 0.0f, ws->kd2, B));
            kd2 = ws->kd2;
        }
        MBT_TRY(mbt_dot(dev, bb, ws->kd1, ws->k1, ws->dot_scratch, &sums->dot[1]));
        MBT_TRY(mbt_dot(dev, bb, kd2, ws->k2, ws->dot_scratch, &sums->dot[2]));
    }
    if (!job->grads) return MBT_OK;

    const float s = (float)(2.0 * inv_b2), lb = (float)job->lambda_bt, kap = (float)job->kappa;
    /* Right-factor paths through C (and C_MA, C_MB). */
    if (job->reg) MBT_TRY(mbt_axpby(dev, bb, lb, ws->k2, kap, ws->kd1, ws->kmix));
    MBT_TRY(kx(dev, B, d, job->reg ? s : s * lb, job->reg ? ws->kmix : ws->k2, ws->z1n, g1));
    if (job->reg) MBT_TRY(mbt_axpby(dev, bb, lb, ws->k1, kap, kd2, ws->kmix));
    MBT_TRY(kx(dev, B, d, job->reg ? s : s * lb, job->reg ? ws->kmix : ws->k1, ws->z2n, g2));
    /* Diagonal terms: d/dz1n[b,i] += g_i z2n[b,i] / B, d/dz2n[b,i] += g_i z1n[b,i] / B. */
    MBT_TRY(mbt_xcorr_diag_grad(dev, B, d, lb, ws->diag, ws->z1n, ws->z2n, g1, g2));
    if (!job->reg) return MBT_OK;
    /* dL/dD1 (and dL/dD2). */
    const float sk = s * kap;
    if (job->separate_d2) {
        MBT_TRY(kx(dev, B, d, sk, ws->k1, ws->d1, gq));
        return kx(dev, B, d, sk, ws->k2, job->d2, ws->q2);
    }
    MBT_TRY(mbt_axpby(dev, bb, 1.0f, ws->k1, 1.0f, ws->k2, ws->kmix));
    return kx(dev, B, d, sk, ws->kmix, ws->d1, gq);
}
