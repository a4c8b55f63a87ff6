/* Private interface between barlow_twins.c (shared steps) and its two evaluation orders
 * (barlow_twins_gram.c, barlow_twins_cov.c). */
#ifndef MBT_BARLOW_TWINS_INTERNAL_H
#define MBT_BARLOW_TWINS_INTERNAL_H

#include "methods/barlow_twins.h"

/* The reductions of one call, written in the workspace's device memory by the ops and read back once. */
typedef struct {
    double on_diag;  /* sum_i (C_ii - 1)^2 */
    double diag_sq;  /* GRAM: sum_i C_ii^2 */
    double off_diag; /* COV: sum_{i != j} C_ij^2 */
    double dot[3];   /* GRAM: <K1, K2>, <KD1, K1>, <KD2, K2>; COV: -, ||E1||^2, ||E2||^2 */
    unsigned bad[3]; /* first column of z1, z2, zm with zero or non-finite std; UINT_MAX: none */
} mbt_bt_sums;

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

/* Each order queues on the workspace's device the sums of its loss terms into ws->sums and, when
 * job->grads:
 *   g1 = dL/dz1n and g2 = dL/dz2n through C, C_MA and C_MB as right-hand factors only (not through D),
 *   gq = dL/dD1 (the whole dL/dD when D2 == D1), ws->q2 = dL/dD2 when separate_d2.
 * barlow_twins.c then adds the paths through D and runs the standardisation backward. */
mbt_status mbt_bt_run_gram(mbt_bt_workspace *ws, const mbt_bt_job *job, float *g1, float *g2, float *gq);
mbt_status mbt_bt_run_cov(mbt_bt_workspace *ws, const mbt_bt_job *job, float *g1, float *g2, float *gq);

#endif
