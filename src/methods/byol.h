/* BYOL's loss and target schedule as ssl-sota computes them (SPEC section 7), with exact gradients.
 *
 * Inputs, view-major [n_views * batch, dim]: p, the online predictions pred(head(model(x_v))), and t,
 * the target projections head_t(model_t(x_v)) (no gradient flows into t). With pair the loss of
 * methods/pair_loss.h:
 *   L = sum_{i<j} (pair(p_i, t_j) + pair(p_j, t_i)) / (n_views (n_views - 1) / 2)
 * The target network's update after each optimizer step, target = tau target + (1 - tau) online over
 * the flat parameter vectors (not the BN running statistics), is the step's (ops/eltwise.h mbt_axpby).
 * The workspace is planned once; values are read back once, late (queue / collect). */
#ifndef MBT_BYOL_H
#define MBT_BYOL_H

#include "core/status.h"
#include "core/tensor.h"

typedef struct mbt_byol_ws mbt_byol_ws;

mbt_status mbt_byol_ws_create(mbt_byol_ws **ws, int max_batch, int dim, int n_views, mbt_device device);
void mbt_byol_ws_destroy(mbt_byol_ws *ws);

/* Queues the loss for `batch` rows per view and, when dp is not NULL, writes dL/dp (overwritten). */
mbt_status mbt_byol_loss_queue(mbt_byol_ws *ws, int batch, const float *p, const float *t, int normalize, float *dp);
mbt_status mbt_byol_loss_collect(mbt_byol_ws *ws, double *loss);
mbt_status mbt_byol_loss(mbt_byol_ws *ws, int batch, const float *p, const float *t, int normalize, double *loss,
                         float *dp);

/* The EMA coefficient after a step at `progress` = epoch / epochs (ssl-sota's model.step(ep / cfg.epoch)):
 * tau = 1 - (1 - base_tau) (cos(pi progress) + 1) / 2. */
double mbt_byol_tau(double base_tau, double progress);

#endif
