/* W-MSE's loss as ssl-sota computes it (SPEC section 7), with exact gradients.
 *
 * Input: the head outputs for all views, view-major h [n_views * batch, dim]. For each of w_iter
 * iterations, a permutation of the batch is cut into groups of w_size consecutive entries; for each
 * group and each view, the group's rows x [w_size, dim] are whitened:
 *   xc = x - mean(x),  C = xc^T xc / (w_size - 1),  S = (1 - eps) C + eps I,
 *   L L^T = S (Cholesky),  W = L^{-1},  y = xc W^T
 * and the whitened rows go back to their places. Then L_iter = sum_{i<j} pair(z_i, z_j) (pair of
 * methods/pair_loss.h, gradient into both sides), and L = sum_iter L_iter / (w_iter * n_pairs).
 * The gradient flows through the mean, the covariance, the Cholesky factor and the inverse, as PyTorch
 * autograd differentiates torch.linalg.cholesky and solve_triangular.
 * Cholesky and the triangular inverse are LAPACK's (OpenBLAS) on the CPU and cuSOLVER/cuBLAS on CUDA,
 * behind ops/cholesky.h. The permutations are drawn on the host (mbt_wmse_draw_groups) and uploaded by
 * the caller. The workspace is planned once; values are read back once, late (queue / collect). */
#ifndef MBT_WMSE_H
#define MBT_WMSE_H

#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"

typedef struct {
    int w_size;    /* rows per whitening group; divides the batch (ssl-sota default 128 in the scripts) */
    int w_iter;    /* iterations, each with its own permutation (default 1) */
    float eps;     /* shrinkage (the scripts' --w_eps 10e-3 = 1e-2) */
    int normalize; /* the pair loss normalises rows (default on) */
} mbt_wmse_params;

typedef struct mbt_wmse_ws mbt_wmse_ws;

mbt_status mbt_wmse_ws_create(mbt_wmse_ws **ws, int max_batch, int dim, int n_views, int w_size, int w_iter,
                              mbt_device device);
void mbt_wmse_ws_destroy(mbt_wmse_ws *ws);

/* w_iter permutations of [0, batch), perms [w_iter * batch], from the counter-based stream of (seed,
 * global step), so a resumed run draws the same groups. */
void mbt_wmse_draw_groups(uint64_t seed, int64_t global_step, int batch, int w_iter, int32_t *perms);

/* Queues the loss for `batch` rows per view (a multiple of w_size) with the groups perms [w_iter * batch]
 * (device memory) and, when dh is not NULL, writes dL/dh (overwritten). MBT_ERR_NUMERIC (at collect on
 * CUDA) when a shrunk covariance is not positive definite. */
mbt_status mbt_wmse_loss_queue(mbt_wmse_ws *ws, int batch, const float *h, const int32_t *perms,
                               const mbt_wmse_params *params, float *dh);
mbt_status mbt_wmse_loss_collect(mbt_wmse_ws *ws, double *loss);
mbt_status mbt_wmse_loss(mbt_wmse_ws *ws, int batch, const float *h, const int32_t *perms,
                         const mbt_wmse_params *params, double *loss, float *dh);

#endif
