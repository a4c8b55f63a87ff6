/* LARS as in the Barlow Twins ImageNet code (facebookresearch/barlowtwins main.py, also mix-bt
 * main_imagenet.py) with weight_decay_filter = lars_adaptation_filter = True: for each weight tensor
 *   dp = grad + wd * p;  q = eta * ||p|| / ||dp|| (1 when either norm is 0);  dp *= q
 * and for each 1-D tensor (biases, BN weights and biases) dp = grad (no decay, no adaptation); then
 *   mu = momentum * mu + dp;  p -= lr * mu
 * with lr = lr_weights for weights and lr_biases for 1-D tensors (the two parameter groups of the script).
 * Parameters are one flat vector; per-tensor norms come from a list of segments of it. */
#ifndef MBT_LARS_H
#define MBT_LARS_H

#include <stddef.h>
#include <stdint.h>

#include "core/plan.h"
#include "core/status.h"

/* One parameter tensor inside the flat vector. is_vector: the tensor has ndim == 1 (torch p.ndim == 1). */
typedef struct {
    size_t offset, length;
    int is_vector;
} mbt_lars_segment;

typedef struct {
    double lr_weights;   /* schedule factor * 0.2 in the ImageNet recipe */
    double lr_biases;    /* schedule factor * 0.0048 */
    double weight_decay; /* 1e-6 */
    double momentum;     /* 0.9 */
    double eta;          /* 0.001 */
} mbt_lars_config;

/* The state a checkpoint must save: the momentum buffer (torch state['mu']) and the step count. */
typedef struct {
    size_t n;
    float *mu;    /* [n], zero at the start */
    int64_t step; /* steps taken (informative: LARS itself does not use it) */
    mbt_device device; /* where mu lives (and param, grad must): the plan's device, CPU after bind */
    double *scratch;   /* CUDA only: device scratch of the norm reductions (planned by mbt_lars_plan) */
} mbt_lars_state;

/* weight_decay 1e-6, momentum 0.9, eta 0.001, both lrs 0 (set them every step). */
mbt_lars_config mbt_lars_defaults(void);
/* Records mu (n floats) in plan (valid after its commit); step = 0; the steps run on the plan's device
 * (a CUDA plan also holds the scratch of the per-tensor norms). */
void mbt_lars_plan(mbt_lars_state *st, mbt_plan *plan, size_t n);
/* Uses a caller-owned host buffer (device CPU). */
void mbt_lars_bind(mbt_lars_state *st, size_t n, float *mu, int64_t step);

/* One step over the segments (which must lie within [0, n) and not overlap; elements outside every segment
 * are left alone, like parameters outside the optimizer). Norms are accumulated in double. segs is host
 * memory on every device. */
mbt_status mbt_lars_step(mbt_lars_state *st, const mbt_lars_config *cfg, const mbt_lars_segment *segs, int nsegs,
                         float *param, const float *grad);

#endif
