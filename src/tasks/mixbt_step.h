/* One Mixed Barlow Twins training step on a model: three forward passes (view 1, view 2 and the mixed
 * batch a*x1 + (1-a)*x2[perm]), the loss with its gradients, and three backward passes accumulating the
 * parameter gradients. With lambda_reg = 0 it is plain Barlow Twins: two passes, no mixing.
 * The optimizer update is the caller's. All buffers are planned at init; a step allocates nothing.
 *
 * The step runs on the model's device, over device-dispatched ops only. The views x1, x2 are in its
 * memory, perm and the losses host memory: perm is uploaded once per step (core/upload.h) and both the
 * mix and the loss read that copy. On CUDA the loss (methods/barlow_twins.h) waits once per step for
 * its values to come back: one host synchronisation per step with mbt_mixbt_step_run.
 * mbt_mixbt_step_queue queues the whole step without waiting and mbt_mixbt_step_collect later returns
 * its losses, so a training loop can queue step t + 1 before it reads step t's losses and the GPU never
 * waits for the host. */
#ifndef MBT_MIXBT_STEP_H
#define MBT_MIXBT_STEP_H

#include <stdint.h>

#include "core/upload.h"
#include "methods/barlow_twins.h"
#include "models/model.h"

typedef struct {
    mbt_model *model;
    int batch, dim, image_numel, with_reg;
    mbt_device device;      /* the model's */
    mbt_bt_workspace bt;
    mbt_plan plan;
    float *xm;              /* mixed input [batch, 3, H, W] */
    float *dz1, *dz2, *dzm; /* loss gradients [batch, dim] */
    int32_t *perm_dev;      /* the step's permutation in the device's memory [batch] */
    mbt_upload perm_up;     /* its upload, one staging slot per step in flight */
} mbt_mixbt_step;

/* model must be a training model with at least 3 slots (2 when with_reg = 0). */
mbt_status mbt_mixbt_step_init(mbt_mixbt_step *step, mbt_model *model, int with_reg);
void mbt_mixbt_step_free(mbt_mixbt_step *step);

/* Runs the step on NCHW views x1, x2 [batch, 3, H, W] (the model's device memory); perm [batch] (host,
 * entries in [0, batch)) and params->alpha define the mix (ignored when params->lambda_reg == 0).
 * Zeroes the gradients first; leaves dL/dparams in the model's gradient vector and the loss values in
 * *losses. */
mbt_status mbt_mixbt_step_run(mbt_mixbt_step *step, const float *x1, const float *x2, const int32_t *perm,
                              const mbt_bt_params *params, mbt_bt_losses *losses);

/* mbt_mixbt_step_run in two halves: queue runs (CUDA: queues) the step and leaves its losses to collect,
 * which returns those of the oldest step queued; up to MBT_BT_IN_FLIGHT steps may wait (the gradient
 * vector is the latest step's). perm may change once queue returns. */
mbt_status mbt_mixbt_step_queue(mbt_mixbt_step *step, const float *x1, const float *x2, const int32_t *perm,
                                const mbt_bt_params *params);
mbt_status mbt_mixbt_step_collect(mbt_mixbt_step *step, mbt_bt_losses *losses);

/* Draws the step's permutation and Beta(1,1) mixing coefficient from the counter-based stream of
 * (seed, global step), so a resumed run mixes exactly as an uninterrupted one. */
void mbt_mixbt_draw_mix(uint64_t seed, int64_t global_step, int batch, int32_t *perm, float *alpha);

#endif
