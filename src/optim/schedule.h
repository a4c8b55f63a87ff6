/* Learning-rate schedules of the reference recipes, as pure functions of explicit step/epoch counters.
 *
 * Counter conventions (the caller owns the counters; a checkpoint saves them):
 *   - "step" is the global optimizer-step index passed to the reference's adjust_learning_rate.
 *   - "completed" is the number of scheduler.step() calls made so far (torch's last_epoch) for the
 *     epoch-wise torch schedulers (MultiStepLR, ExponentialLR). */
#ifndef MBT_SCHEDULE_H
#define MBT_SCHEDULE_H

#include <stdint.h>

#include "core/status.h"

/* The reference adjust_learning_rate (small-data main.py and ImageNet main_imagenet.py): with
 * warm = warmup_epochs * steps_per_epoch, max = epochs * steps_per_epoch, base = batch_size / 256,
 *   step < warm:  base * step / warm                         (linear from 0)
 *   otherwise:    q = (1 + cos(pi * (step - warm) / (max - warm))) / 2;  base * q + base * 0.001 * (1 - q)
 * The lr set is this factor times --lr (small data) or times lr_weights / lr_biases (ImageNet LARS).
 * Steps past max are not clamped (the cosine then rises again, as in the reference). */
double mbt_sched_cosine(int64_t step, int64_t steps_per_epoch, int epochs, int warmup_epochs, int batch_size);

/* SPEC quirk 1. The small-data main.py numbers epochs from 1 and enumerates batches with
 * start = epoch * steps_per_epoch, so the step of batch i (from 0) of epoch `epoch1` (from 1) is
 *   epoch1 * steps_per_epoch + i
 * i.e. the first step of training already sits at steps_per_epoch: the warm-up ends one epoch early and
 * the last epoch runs one epoch past the cosine's end. Pass this to mbt_sched_cosine to reproduce the
 * reference; pass (epoch1 - 1) * steps_per_epoch + i for the intended schedule (which is what the
 * ImageNet script does, its epochs counting from 0). */
int64_t mbt_sched_small_data_step(int epoch1, int64_t steps_per_epoch, int64_t i);

/* torch MultiStepLR: base_lr * gamma^(number of milestones <= completed). Milestones need not be sorted;
 * a repeated milestone counts twice, as in torch. */
double mbt_sched_multistep(double base_lr, double gamma, const int *milestones, int n_milestones, int64_t completed);

/* The small-data step alternative (main.py --lr_shed step): base 1e-3, milestones (epochs-50, epochs-25),
 * gamma 0.2, stepped after each epoch; epoch1 counts from 1, so completed = epoch1 - 1. */
double mbt_sched_pretrain_step(int epoch1, int epochs);

/* torch ExponentialLR: base_lr * gamma^completed (closed form; torch multiplies repeatedly, which differs
 * in the last bits only). */
double mbt_sched_exponential(double base_lr, double gamma, int64_t completed);

/* The linear probe (linear.py): Adam lr 1e-2 decayed to 1e-6 at the end: gamma = (1e-6/1e-2)^(1/epochs),
 * scheduler stepped after each epoch, epochs from 1: lr of epoch `epoch1` = 1e-2 * gamma^(epoch1 - 1). */
double mbt_sched_linear_probe(int epoch1, int epochs);

/* torch CosineAnnealingLR(T) with eta_min 0, stepped after each epoch: base_lr (1 + cos(pi completed / T))
 * / 2 (closed form; torch's recursive update differs in the last bits only). */
double mbt_sched_cosine_annealing(double base_lr, int64_t completed, int64_t T);

/* Transfer learning (evaluate_transfer.py): SGD lr 0.01, MultiStepLR([60, 80], 0.1) stepped after each
 * epoch, epochs from 1: lr of epoch `epoch1` = 0.01 * 0.1^(milestones <= epoch1 - 1). */
double mbt_sched_transfer(int epoch1);

/* The baselines' (ssl-sota train.py) linear warm-up: the k-th optimizer step (k from 0) of the run uses
 * lr * (k + 1) / warmup_steps while k < warmup_steps (500 in the scripts), then lr * 1; returns the factor.
 * Only the warm-up part: the whole train.py schedule, whose later values are not simply this factor
 * times an epoch-wise lr, is mbt_sched_sslsota_lr. */
double mbt_sched_warmup_factor(int64_t k, int64_t warmup_steps);

/* ssl-sota train.py's --lr_step. */
typedef enum {
    MBT_SSLSOTA_LR_STEP = 0, /* "step" (the default): MultiStepLR, stepped after every epoch */
    MBT_SSLSOTA_LR_COS,      /* "cos": CosineAnnealingWarmRestarts, stepped after every step past warm-up */
    MBT_SSLSOTA_LR_NONE      /* "none": constant lr after warm-up */
} mbt_sslsota_lr_mode;

#define MBT_SSLSOTA_MAX_DROPS 16

/* The schedule flags of ssl-sota cfg.py, with its defaults (mbt_sslsota_sched_defaults). */
typedef struct {
    double lr;                         /* --lr: 1e-3 */
    int epochs;                        /* --epoch: 200 */
    int warmup;                        /* 1; 0 is --no_lr_warmup */
    mbt_sslsota_lr_mode mode;          /* --lr_step: step */
    int n_drop;                        /* --drop: (50, 25): milestones at epochs - drop[j] */
    int drop[MBT_SSLSOTA_MAX_DROPS];
    double drop_gamma;                 /* --drop_gamma: 0.2 */
    int t0;                            /* --T0: 0 = unset, i.e. epochs (train.py: cfg.epoch if T0 is None) */
    int tmult;                         /* --Tmult: 1 */
    double eta_min;                    /* --eta_min: 0 */
} mbt_sslsota_sched;

mbt_sslsota_sched mbt_sslsota_sched_defaults(void);

/* MBT_ERR_ARG unless lr >= 0, epochs >= 1, 0 <= n_drop <= MBT_SSLSOTA_MAX_DROPS, t0 >= 0 (torch: T_0 > 0
 * once resolved), tmult >= 1 (torch), a known mode. */
mbt_status mbt_sslsota_sched_check(const mbt_sslsota_sched *c);

/* The lr train.py has set in the param groups when it runs optimizer step k of the run (k from 0), the
 * i-th batch (from 0) of epoch ep (from 0) with `iters` batches per epoch (len(ds.train); train.py has
 * k = ep * iters + i). train.py, in its order:
 *   - warm-up (unless --no_lr_warmup): before each of the first 500 steps, lr = cfg.lr * ((k + 1) / 500),
 *     overwriting whatever the scheduler had set;
 *   - step: MultiStepLR(milestones = epochs - d for d in drop, gamma) built at lr (its constructor already
 *     counts milestone 0), .step() after each epoch: lr *= gamma^(count of the new epoch in milestones),
 *     milestone m landing after step m * iters - 1. A milestone whose step lands inside the warm-up is
 *     overwritten by it, so only milestones with m * iters >= 500 act (every m >= 0 without warm-up);
 *     milestones are applied one by one in epoch order, as torch multiplies the group's lr;
 *   - cos: CosineAnnealingWarmRestarts(T_0 = T0 or epochs, T_mult, eta_min), its constructor sets
 *     f(0); after step k, once the warm-up counter has reached 500 (k >= 499; every k without warm-up),
 *     .step(ep + i / iters) sets f(that epoch) for step k + 1, with torch's f (restart n =
 *     int(log(t / T_0 * (T_mult - 1) + 1, T_mult)) for T_mult > 1, t mod T_0 for T_mult == 1):
 *     so step k >= 500 (k >= 1 without warm-up) runs at f(epoch value of step k - 1), and warm-up off,
 *     step 0 at f(0);
 *   - none: cfg.lr.
 * Computed with the same double expressions as Python and torch 1.13, so the values are torch's to the
 * bit (pow and log of the same libm). Call mbt_sslsota_sched_check once first. */
double mbt_sched_sslsota_lr(int64_t k, int ep, int64_t i, int64_t iters, const mbt_sslsota_sched *c);

#endif
