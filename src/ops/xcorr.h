/* The parts of a cross-correlation loss (Barlow Twins, methods/barlow_twins.h) that are not matrix
 * products, on any backend: the diagonal of C = X^T Y / B with its sums, the gradient of the diagonal
 * terms, and (for the d x d evaluation order) the sums over a formed C and dL/dC in its place. Inputs are
 * row-major [B, d] standardised features; double results stay in device memory (ops/reduce.h). */
#ifndef MBT_XCORR_H
#define MBT_XCORR_H

#include "core/tensor.h"

/* acc[j] = sum_b x[b,j] y[b,j] (double), diag[j] = acc[j] / B (float), *on = sum_j (C_jj - 1)^2 and
 * *sq = sum_j C_jj^2 with C_jj = acc[j] / B in double. */
mbt_status mbt_xcorr_diagonal(mbt_device device, int B, int d, const float *x, const float *y, double *acc,
                              float *diag, double *on, double *sq);
/* The diagonal terms' gradient: gx[b,j] += g_j y[b,j], gy[b,j] += g_j x[b,j], with
 * g_j = (2 (C_jj - 1) - 2 lambda C_jj) / B and C_jj = diag[j]. */
mbt_status mbt_xcorr_diag_grad(mbt_device device, int B, int d, float lambda, const float *diag, const float *x,
                               const float *y, float *gx, float *gy);
/* For C [d, d]: *on = sum_i (C_ii - 1)^2, *off = sum_{i != j} C_ij^2 (double). */
mbt_status mbt_xcorr_cov_terms(mbt_device device, int d, const float *c, double *on, double *off);
/* C [d, d] replaced by dL/dC: lambda2 * C_ij off the diagonal, 2 (C_ii - 1) on it. */
mbt_status mbt_xcorr_cov_grad(mbt_device device, int d, float lambda2, float *c);
/* Whether a loss may take the d x d order on this device: the CPU's ops are proven; CUDA's halves have
 * not run on a GPU yet, so a CUDA loss keeps to the B x B (Gram) order until they have. */
int mbt_xcorr_cov_order_proven(mbt_device device);

#endif
