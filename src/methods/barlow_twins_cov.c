/* Barlow Twins / Mixed BT with the d x d matrices formed (cheap when d <= B):
 *   C = z1n^T z2n / B,  E1 = C_MA - C_MA_gt = D1^T z1n / B,  E2 = C_MB - C_MB_gt = D2^T z2n / B,
 *   dL/dC = G_C (2 lambda_bt C_ij off the diagonal, 2 (C_ii - 1) on it),
 *   dL/dz1n (right factors) = z2n G_C^T / B + 2 kappa/B D1 E1,   dL/dz2n = z1n G_C / B + 2 kappa/B D2 E2,
 *   dL/dD1 = 2 kappa/B z1n E1^T,  dL/dD2 = 2 kappa/B z2n E2^T. */
#include "methods/barlow_twins_internal.h"
#include "ops/blas.h"
#include "ops/reduce.h"
#include "ops/xcorr.h"

mbt_status mbt_bt_run_cov(mbt_bt_workspace *ws, const mbt_bt_job *job, float *g1, float *g2, float *gq) {
    const mbt_device dev = ws->plan.device;
    mbt_bt_sums *sums = ws->sums;
    const int B = job->B, d = job->d;
    const size_t dd = (size_t)d * d;
    const float inv_b = 1.0f / B;
    float *c = ws->c;
    MBT_TRY(mbt_sgemm(dev, 1, 0, d, d, B, inv_b, ws->z1n, d, ws->z2n, d, 0.0f, c, d));
    MBT_TRY(mbt_xcorr_cov_terms(dev, d, c, &sums->on_diag, &sums->off_diag));
    if (job->reg) {
        MBT_TRY(mbt_sgemm(dev, 1, 0, d, d, B, inv_b, ws->d1, d, ws->z1n, d, 0.0f, ws->e1, d));
        MBT_TRY(mbt_sgemm(dev, 1, 0, d, d, B, inv_b, job->d2, d, ws->z2n, d, 0.0f, ws->e2, d));
        MBT_TRY(mbt_dot(dev, dd, ws->e1, ws->e1, ws->dot_scratch, &sums->dot[1]));
        MBT_TRY(mbt_dot(dev, dd, ws->e2, ws->e2, ws->dot_scratch, &sums->dot[2]));
    }
    if (!job->grads) return MBT_OK;

    MBT_TRY(mbt_xcorr_cov_grad(dev, d, (float)(2.0 * job->lambda_bt), c)); /* G_C in place of C */
    MBT_TRY(mbt_sgemm(dev, 0, 1, B, d, d, inv_b, ws->z2n, d, c, d, 0.0f, g1, d));
    MBT_TRY(mbt_sgemm(dev, 0, 0, B, d, d, inv_b, ws->z1n, d, c, d, 0.0f, g2, d));
    if (!job->reg) return MBT_OK;
    const float sk = (float)(2.0 * job->kappa / B);
    MBT_TRY(mbt_sgemm(dev, 0, 0, B, d, d, sk, ws->d1, d, ws->e1, d, 1.0f, g1, d));
    MBT_TRY(mbt_sgemm(dev, 0, 0, B, d, d, sk, job->d2, d, ws->e2, d, 1.0f, g2, d));
    MBT_TRY(mbt_sgemm(dev, 0, 1, B, d, d, sk, ws->z1n, d, ws->e1, d, 0.0f, gq, d));
    if (job->separate_d2) return mbt_sgemm(dev, 0, 1, B, d, d, sk, ws->z2n, d, ws->e2, d, 0.0f, ws->q2, d);
    return mbt_sgemm(dev, 0, 1, B, d, d, sk, ws->z2n, d, ws->e2, d, 1.0f, gq, d);
}
