/* ssl-sota's loss between matching rows of two [n, d] arrays (its norm_mse_loss / F.mse_loss), with
 * exact gradients, written over device-dispatched ops; shared by BYOL and W-MSE.
 *   normalize on  (the default): L = 2 - 2 mean_i <a_i / |a_i|, b_i / |b_i|>  (F.normalize, eps 1e-12)
 *   normalize off (--no-norm):   L = mean over all n d elements of (a - b)^2
 * The scratch is planned once for (max_rows, dim, device); a call allocates nothing. */
#ifndef MBT_PAIR_LOSS_H
#define MBT_PAIR_LOSS_H

#include "core/plan.h"
#include "core/status.h"
#include "core/tensor.h"

typedef struct {
    int max_rows, dim;
    mbt_device device;
    mbt_plan plan;
    float *an, *bn, *ga, *gb; /* normalised rows and their gradients [max_rows, dim] */
    double *scratch;          /* reduction scratch (ops/reduce.h) */
} mbt_pair_loss_ws;

mbt_status mbt_pair_loss_init(mbt_pair_loss_ws *ws, int max_rows, int dim, mbt_device device);
void mbt_pair_loss_free(mbt_pair_loss_ws *ws);

/* Adds weight * L(a, b) to *acc (one double in device memory) and weight * dL/da, weight * dL/db to da
 * and db ([n, dim] device memory, accumulated; either may be NULL: no gradient for that side, e.g.
 * BYOL's target). Queued on the device's stream; nothing is read back. */
mbt_status mbt_pair_loss_add(mbt_pair_loss_ws *ws, int normalize, int n, const float *a, const float *b,
                             double weight, double *acc, float *da, float *db);

#endif
