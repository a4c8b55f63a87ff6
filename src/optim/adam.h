/* Adam with torch.optim.Adam semantics (non-AMSGrad): L2 weight decay added to the gradient, bias-corrected
 * moments, eps added after the square root, over one flat float vector of parameters. */
#ifndef MBT_ADAM_H
#define MBT_ADAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/plan.h"
#include "core/status.h"

/* Hyperparameters in double, as torch holds them (Python floats); the element-wise update uses them
 * rounded to float, as torch's float kernels do. */
typedef struct {
    double lr;           /* set by the caller every step from a schedule */
    double beta1, beta2; /* 0.9, 0.999 */
    double eps;          /* 1e-8 */
    double weight_decay; /* L2, added to the gradient (pretraining 1e-6, linear probe 5e-6) */
} mbt_adam_config;

/* The state a checkpoint must save: both moment vectors and the step count (torch state['step']). */
typedef struct {
    size_t n;     /* number of parameters */
    float *m, *v; /* exp_avg and exp_avg_sq [n]: in a plan (mbt_adam_plan) or the caller's memory */
    int64_t step; /* steps taken so far; the next step uses bias corrections for step + 1 */
    mbt_device device; /* where m and v live (and param, grad must): the plan's device, CPU after bind */
} mbt_adam_state;

/* lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0: torch.optim.Adam's defaults. */
mbt_adam_config mbt_adam_defaults(void);
/* Records m and v (n floats each) in plan: they point into its block after mbt_plan_commit, zero-filled,
 * and step = 0. The state must not move in memory until the commit. The steps then run on the plan's
 * device (a CUDA plan: param and grad are device memory too; restore a checkpoint by copying into m, v). */
void mbt_adam_plan(mbt_adam_state *st, mbt_plan *plan, size_t n);
/* Uses caller-owned (zeroed, or restored from a checkpoint) host buffers m and v of n floats (device CPU). */
void mbt_adam_bind(mbt_adam_state *st, size_t n, float *m, float *v, int64_t step);

/* One step over param[n] with grad[n] (grad is not modified):
 *   g = grad + wd * p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  t = ++step
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)                                  */
mbt_status mbt_adam_step(mbt_adam_state *st, const mbt_adam_config *cfg, float *param, const float *grad);

#endif
