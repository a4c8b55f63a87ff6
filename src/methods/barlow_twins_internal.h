/* Private interface between barlow_twins.c (shared steps) and its two evaluation orders
 * (barlow_twins_gram.c, barlow_twins_cov.c). */
#ifndef MBT_BARLOW_TWINS_INTERNAL_H
#define MBT_BARLOW_TWINS_INTERNAL_H

#include "methods/barlow_twins.h"

/* What one evaluation order receives: the standardised inputs are in ws (z1n, z2n, zmn), and when the
 * regulariser is on, ws->d1 = D1 = zmn - a z1n - (1-a) S and d2 = D2 (== d1 unless gt_uses_z2). */
typedef struct {
    int B, d;
    int reg;          /* regulariser on */
    int grads;        /* gradients wanted */
    double lambda_bt; /* off-diagonal weight */
    double kappa;     /* lambda_reg * lambda_bt */
    const float *d2;  /* D2: ws->d1 (paper) or ws->d2 (gt_uses_z2) */
    int separate_d2;  /* gt_uses_z2: D2 differs from D1 */
} mbt_bt_job;

/* Each order fills out->{on_diag, off_diag, loss_bt, loss_reg} and, when job->grads:
 *   g1 = dL/dz1n and g2 = dL/dz2n through C, C_MA and C_MB as right-hand factors only (not through D),
 *   gq = dL/dD1 (the whole dL/dD when D2 == D1), ws->q2 = dL/dD2 when separate_d2.
 * barlow_twins.c then adds the paths through D and runs the standardisation backward. */
void mbt_bt_run_gram(mbt_bt_workspace *ws, const mbt_bt_job *job, mbt_bt_losses *out, float *g1, float *g2,
                     float *gq);
void mbt_bt_run_cov(mbt_bt_workspace *ws, const mbt_bt_job *job, mbt_bt_losses *out, float *g1, float *g2,
                    float *gq);

/* sum_i x_i * y_i in double over n floats (OpenMP). */
double mbt_bt_dot(const float *x, const float *y, long n);

#ifdef MIXBT_HAVE_CUDA
/* barlow_twins_cuda.c: reserves the CUDA-only scratch in ws->plan (before its commit) and makes sure the
 * CUDA context (and so the device allocator of plans) exists. */
mbt_status mbt_bt_cuda_plan(mbt_bt_workspace *ws);
/* mbt_bt_loss_queue on a CUDA workspace, after its argument checks (zm is NULL when the regulariser is
 * off): everything queued, the values copied back into pinned slot `slot`. */
mbt_status mbt_bt_loss_cuda_queue(mbt_bt_workspace *ws, int B, const float *z1, const float *z2, const float *zm,
                                  const int32_t *perm, const mbt_bt_params *params, float *dz1, float *dz2,
                                  float *dzm, int slot);
/* Waits for slot `slot`'s values and turns them into *out for a call of B rows (reg: with the regulariser;
 * its weights lambda_bt and kappa = lambda_reg * lambda_bt); errors as mbt_bt_loss's. */
mbt_status mbt_bt_loss_cuda_collect(mbt_bt_workspace *ws, int slot, int B, int reg, double lambda_bt, double kappa,
                                    mbt_bt_losses *out);
/* Frees the pinned slots and events of mbt_bt_cuda_plan. */
void mbt_bt_cuda_free(mbt_bt_workspace *ws);
#endif

#endif
