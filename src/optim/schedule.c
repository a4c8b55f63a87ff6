/* Learning-rate schedules (closed forms of the reference's Python formulas and torch schedulers). */
#include "optim/schedule.h"

#include <math.h>
#include <stdint.h>

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

double mbt_sched_cosine_annealing(double base_lr, int64_t completed, int64_t T) {
    return 0.5 * base_lr * (1.0 + cos(M_PI * (double)completed / (double)T));
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

mbt_sslsota_sched mbt_sslsota_sched_defaults(void) {
    return (mbt_sslsota_sched){.lr = 1e-3, .epochs = 200, .warmup = 1, .mode = MBT_SSLSOTA_LR_STEP, .n_drop = 2,
                               .drop = {50, 25}, .drop_gamma = 0.2, .t0 = 0, .tmult = 1, .eta_min = 0.0};
}

mbt_status mbt_sslsota_sched_check(const mbt_sslsota_sched *c) {
    MBT_CHECK_ARG(c->lr >= 0.0 && c->epochs >= 1, "ssl-sota schedule: lr %g, %d epochs", c->lr, c->epochs);
    MBT_CHECK_ARG(c->n_drop >= 0 && c->n_drop <= MBT_SSLSOTA_MAX_DROPS, "ssl-sota schedule: %d drops (at most %d)",
                  c->n_drop, MBT_SSLSOTA_MAX_DROPS);
    MBT_CHECK_ARG(c->mode == MBT_SSLSOTA_LR_STEP || c->mode == MBT_SSLSOTA_LR_COS || c->mode == MBT_SSLSOTA_LR_NONE,
                  "ssl-sota schedule: unknown lr_step mode %d", (int)c->mode);
    MBT_CHECK_ARG(c->t0 >= 0 && c->tmult >= 1, "ssl-sota schedule: T0 %d must be >= 1 (0: epochs), Tmult %d >= 1",
                  c->t0, c->tmult);
    return MBT_OK;
}

/* The baselines' warm-up length (train.py's literal 500). */
#define SSLSOTA_WARMUP 500

/* MultiStepLR as train.py drives it, for step k of epoch ep (see schedule.h): the group's lr after the
 * milestone events that survive the warm-up, applied in epoch order. */
static double sslsota_multistep(int64_t ep, int64_t iters, const mbt_sslsota_sched *c) {
    double lr = c->lr;
    int64_t last = -1; /* the last milestone applied (distinct ones in increasing order) */
    for (;;) {
        int64_t m = INT64_MAX;
        int count = 0;
        for (int j = 0; j < c->n_drop; j++) {
            int64_t mj = (int64_t)c->epochs - c->drop[j];
            if (mj > last && mj < m) m = mj, count = 0;
            if (mj == m) count++;
        }
        if (m == INT64_MAX || m > ep) return lr;
        last = m;
        /* m < 0 never comes; m == 0 is the constructor's step, overwritten by a warm-up like any event
         * before step 500 */
        if (m >= 0 && (!c->warmup || m * iters >= SSLSOTA_WARMUP)) lr = lr * pow(c->drop_gamma, count);
    }
}

/* torch CosineAnnealingWarmRestarts.get_lr after .step(t), base_lr = lr. */
static double sslsota_cosine(double t, const mbt_sslsota_sched *c) {
    const int64_t t0 = c->t0 > 0 ? c->t0 : c->epochs, tm = c->tmult;
    double t_cur = t, t_i = (double)t0;
    if (t >= (double)t0) {
        if (tm == 1) {
            t_cur = fmod(t, (double)t0);
        } else {
            /* Python: int(math.log(t / T_0 * (T_mult - 1) + 1, T_mult)), math.log(x, b) = log(x) / log(b) */
            const int64_t n = (int64_t)(log(t / (double)t0 * (double)(tm - 1) + 1.0) / log((double)tm));
            int64_t p = 1;
            for (int64_t j = 0; j < n; j++) p *= tm;
            t_cur = t - (double)(t0 * (p - 1)) / (double)(tm - 1);
            t_i = (double)(t0 * p);
        }
    }
    return c->eta_min + (c->lr - c->eta_min) * (1.0 + cos(M_PI * t_cur / t_i)) / 2.0;
}

double mbt_sched_sslsota_lr(int64_t k, int ep, int64_t i, int64_t iters, const mbt_sslsota_sched *c) {
    if (c->warmup && k < SSLSOTA_WARMUP) return c->lr * ((double)(k + 1) / (double)SSLSOTA_WARMUP);
    switch (c->mode) {
    case MBT_SSLSOTA_LR_STEP: return sslsota_multistep(ep, iters, c);
    case MBT_SSLSOTA_LR_COS: {
        if (k == 0) return sslsota_cosine(0.0, c); /* warm-up off: the constructor's value */
        /* the previous step's scheduler.step(ep + i / iters) */
        int64_t pe = ep, pi = i - 1;
        if (pi < 0) pe = ep - 1, pi = iters - 1;
        return sslsota_cosine((double)pe + (double)pi / (double)iters, c);
    }
    default: return c->lr;
    }
}
