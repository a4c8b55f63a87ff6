/* SimCLR's loss as ssl-sota computes it (its contrastive_loss, SPEC section 7), with exact gradients.
 *
 * Input: the outputs of the head and bn_last for all views, view-major: z [n_views * batch, dim], rows
 * v * batch .. (v + 1) * batch - 1 are view v. For each pair of views i < j, with a = z_i, b = z_j
 * (L2-normalised rows when normalize is on):
 *   l_ab = a b^T / tau,  l_aa = a a^T / tau - 1e9 I,  l_bb = b b^T / tau - 1e9 I,  l_ba = b a^T / tau
 *   pair(i, j) = (CE([l_ab, l_aa], arange) + CE([l_ba, l_bb], arange)) / 2   (CE: mean over rows)
 * L = sum_{i<j} pair(i, j) / (n_views (n_views - 1) / 2). The B x B logits are BLAS products.
 *
 * The workspace is planned once for (max_batch, dim, n_views, device); a call allocates nothing. Values
 * are read back once, late (queue / collect), as methods/barlow_twins.h describes. */
#ifndef MBT_SIMCLR_H
#define MBT_SIMCLR_H

#include "core/status.h"
#include "core/tensor.h"

typedef struct {
    float tau;     /* temperature (ssl-sota default 0.5) */
    int normalize; /* L2-normalise the rows first (ssl-sota default on; --no-norm turns it off) */
} mbt_simclr_params;

typedef struct mbt_simclr_ws mbt_simclr_ws;

mbt_status mbt_simclr_ws_create(mbt_simclr_ws **ws, int max_batch, int dim, int n_views, mbt_device device);
void mbt_simclr_ws_destroy(mbt_simclr_ws *ws);

/* Queues the loss of `batch` rows per view (2 <= batch <= max_batch) and, when dz is not NULL, writes
 * dL/dz [n_views * batch, dim] (overwritten). z and dz are the device's memory. */
mbt_status mbt_simclr_loss_queue(mbt_simclr_ws *ws, int batch, const float *z, const mbt_simclr_params *params,
                                 float *dz);
/* The value of the oldest call queued; MBT_ERR_NUMERIC when it is not finite. */
mbt_status mbt_simclr_loss_collect(mbt_simclr_ws *ws, double *loss);
/* queue then collect. */
mbt_status mbt_simclr_loss(mbt_simclr_ws *ws, int batch, const float *z, const mbt_simclr_params *params,
                           double *loss, float *dz);

#endif
