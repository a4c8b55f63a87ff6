/* SGD with momentum, torch.optim.SGD semantics (dampening 0, no Nesterov): L2 weight decay added to the
 * gradient, momentum buffer initialised to the first step's gradient. Used by transfer learning. */
#ifndef MBT_SGD_H
#define MBT_SGD_H

#include <stddef.h>
#include <stdint.h>

#include "core/plan.h"
#include "core/status.h"

typedef struct {
    double lr;           /* set by the caller every epoch from a schedule */
    double momentum;     /* 0.9 for transfer; 0 = plain SGD (no buffer used) */
    double weight_decay; /* L2 added to the gradient; 0 in the transfer recipe */
} mbt_sgd_config;

/* The state a checkpoint must save: the momentum buffer and the step count. */
typedef struct {
    size_t n;
    float *buf;   /* momentum_buffer [n] (unused while momentum == 0) */
    int64_t step; /* steps taken; step == 0 means the buffer is not initialised yet */
    mbt_device device; /* where buf lives (and param, grad must): the plan's device, CPU after bind */
} mbt_sgd_state;

/* Records buf (n floats) in plan (valid after its commit); step = 0; the steps run on the plan's device. */
void mbt_sgd_plan(mbt_sgd_state *st, mbt_plan *plan, size_t n);
/* Uses a caller-owned host buffer (device CPU). */
void mbt_sgd_bind(mbt_sgd_state *st, size_t n, float *buf, int64_t step);

/* One step: d = grad + wd p; buf = (first step ? d : momentum buf + d); p -= lr * buf
 * (with momentum == 0: p -= lr * d). */
mbt_status mbt_sgd_step(mbt_sgd_state *st, const mbt_sgd_config *cfg, float *param, const float *grad);

#endif
