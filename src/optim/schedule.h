/* Learning-rate schedules of the reference recipes, as pure functions of explicit step/epoch counters.
 *
 * Counter conventions (the caller owns the counters; a checkpoint saves them):
 *   - "step" is the global optimizer-step index passed to the reference's adjust_learning_rate.
 *   - "completed" is the number of scheduler.step() calls made so far (torch's last_epoch) for the
 *     epoch-wise torch schedulers (MultiStepLR, ExponentialLR). */
#ifndef MBT_SCHEDULE_H
#define MBT_SCHEDULE_H

#include <stdint.h>

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

/* Transfer learning (evaluate_transfer.py): SGD lr 0.01, MultiStepLR([60, 80], 0.1) stepped after each
 * epoch, epochs from 1: lr of epoch `epoch1` = 0.01 * 0.1^(milestones <= epoch1 - 1). */
double mbt_sched_transfer(int epoch1);

/* The baselines' (ssl-sota train.py) linear warm-up: the k-th optimizer step (k from 0) of the run uses
 * lr * (k + 1) / warmup_steps while k < warmup_steps (500 in the scripts), then lr * 1; returns the factor.
 * It multiplies the epoch-wise schedule of the baselines (MultiStepLR), which only acts after warm-up. */
double mbt_sched_warmup_factor(int64_t k, int64_t warmup_steps);

#endif
