/* Learning-rate schedules (closed forms of the reference's Python formulas and torch schedulers). */
#include "optim/schedule.h"

#include <math.h>

double mbt_sched_cosine(int64_t step, int64_t steps_per_epoch, int epochs, int warmup_epochs, int batch_size) {
    const double max_steps = (double)epochs * (double)steps_per_epoch;
    const double warm = (double)warmup_epochs * (double)steps_per_epoch;
    const double base = batch_size / 256.0;
    if ((double)step < warm) return base * (double)step / warm;
    const double q = 0.5 * (1.0 + cos(M_PI * ((double)step - warm) / (max_steps - warm)));
    return base * q + base * 0.001 * (1.0 - q);
}

int64_t mbt_sched_small_data_step(int epoch1, int64_t steps_per_epoch, int64_t i) {
    return (int64_t)epoch1 * steps_per_epoch + i;
}

double mbt_sched_multistep(double base_lr, double gamma, const int *milestones, int n_milestones, int64_t completed) {
    int k = 0;
    for (int i = 0; i < n_milestones; i++)
        if ((int64_t)milestones[i] <= completed) k++;
    return base_lr * pow(gamma, k);
}

double mbt_sched_pretrain_step(int epoch1, int epochs) {
    const int m[2] = {epochs - 50, epochs - 25};
    return mbt_sched_multistep(1e-3, 0.2, m, 2, epoch1 - 1);
}

double mbt_sched_exponential(double base_lr, double gamma, int64_t completed) {
    return base_lr * pow(gamma, (double)completed);
}

double mbt_sched_linear_probe(int epoch1, int epochs) {
    const double gamma = pow(1e-6 / 1e-2, 1.0 / epochs);
    return mbt_sched_exponential(1e-2, gamma, epoch1 - 1);
}

double mbt_sched_transfer(int epoch1) {
    const int m[2] = {60, 80};
    return mbt_sched_multistep(0.01, 0.1, m, 2, epoch1 - 1);
}

double mbt_sched_warmup_factor(int64_t k, int64_t warmup_steps) {
    return k < warmup_steps ? (double)(k + 1) / (double)warmup_steps : 1.0;
}
