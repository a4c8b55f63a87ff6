/* Tests of the optimizers (Adam, SGD, LARS) and schedules against torch.optim trajectories and the
 * reference's schedule formulas (fixtures from tools/make_optim_fixtures.py), and of resuming from saved
 * optimizer state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/plan.h"
#include "fixture.h"
#include "optim/adam.h"
#include "optim/lars.h"
#include "optim/schedule.h"
#include "optim/sgd.h"

enum { KIND_ADAM, KIND_SGD, KIND_LARS };

typedef struct {
    const char *name;
    int kind;
    mbt_adam_config adam;
    mbt_sgd_config sgd;
    mbt_lars_config lars;
} opt_case;

/* Hyperparameters of the trajectories written by tools/make_optim_fixtures.py (lr comes per step). */
static const opt_case cases[] = {
    {"adam1", KIND_ADAM, .adam = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 1e-2}},
    {"adam2", KIND_ADAM, .adam = {.beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.0}},
    {"adam3", KIND_ADAM, .adam = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 5e-6}},
    {"sgd1", KIND_SGD, .sgd = {.momentum = 0.9, .weight_decay = 5e-4}},
    {"sgd2", KIND_SGD, .sgd = {.momentum = 0.0, .weight_decay = 1e-3}},
    {"lars1", KIND_LARS, .lars = {.weight_decay = 1e-2, .momentum = 0.9, .eta = 1e-3}},
    {"lars2", KIND_LARS, .lars = {.weight_decay = 0.0, .momentum = 0.8, .eta = 2e-2}},
};

static const fixture_array *getn(const fixture_file *f, const char *name, const char *what) {
    char key[64];
    snprintf(key, sizeof key, "%s_%s", name, what);
    return fixture_get(f, key);
}

static void check_vec(const char *ctx, const char *what, const float *got, const double *ref, long n) {
    double scale = 0;
    for (long i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    long worst;
    double v = check_max_violation(got, ref, n, 1e-6, 1e-6 * scale, &worst);
    CHECK_MSG(v <= 1.0, "%s %s: element %ld = %.9g, expected %.9g (violation %.3g)", ctx, what, worst,
              (double)got[worst], ref[worst], v);
}

/* Runs one trajectory; resume_at > 0 re-binds the state into fresh buffers after that many steps (as a
 * checkpoint restore would), which must not change the result. */
static void run_trajectory(const fixture_file *f, const opt_case *c, int resume_at) {
    const fixture_array *p0 = getn(f, c->name, "p0"), *gr = getn(f, c->name, "grads"), *lrs = getn(f, c->name, "lrs");
    const fixture_array *traj = getn(f, c->name, "traj"), *nd = getn(f, c->name, "shapes_ndim");
    const fixture_array *nn = getn(f, c->name, "shapes_numel");
    if (!p0 || !gr || !lrs || !traj || !nd || !nn) {
        CHECK_MSG(0, "fixture arrays of %s missing", c->name);
        return;
    }
    const long n = (long)p0->numel;
    const int T = (int)gr->dims[0];
    float *p = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
    for (long i = 0; i < n; i++) p[i] = (float)p0->data[i];

    mbt_plan plan;
    mbt_plan_init(&plan, MBT_DEVICE_CPU);
    mbt_adam_state adam;
    mbt_sgd_state sgd;
    mbt_lars_state lars;
    if (c->kind == KIND_ADAM) mbt_adam_plan(&adam, &plan, n);
    else if (c->kind == KIND_SGD) mbt_sgd_plan(&sgd, &plan, n);
    else mbt_lars_plan(&lars, &plan, n);
    CHECK_OK(mbt_plan_commit(&plan));

    int nseg = (int)nd->numel;
    mbt_lars_segment segs[16];
    size_t off = 0;
    for (int k = 0; k < nseg && k < 16; k++) {
        segs[k] = (mbt_lars_segment){.offset = off, .length = (size_t)nn->data[k], .is_vector = nd->data[k] == 1};
        off += (size_t)nn->data[k];
    }
    float *saved[2] = {NULL, NULL};
    char ctx[96];
    for (int t = 0; t < T; t++) {
        if (resume_at > 0 && t == resume_at) {
            /* Save the state as a checkpoint would, wipe the planned buffers, restore into new memory. */
            saved[0] = malloc(n * sizeof(float));
            saved[1] = malloc(n * sizeof(float));
            if (c->kind == KIND_ADAM) {
                memcpy(saved[0], adam.m, n * sizeof(float));
                memcpy(saved[1], adam.v, n * sizeof(float));
                memset(adam.m, 0xff, n * sizeof(float));
                mbt_adam_bind(&adam, n, saved[0], saved[1], adam.step);
            } else if (c->kind == KIND_SGD) {
                memcpy(saved[0], sgd.buf, n * sizeof(float));
                memset(sgd.buf, 0xff, n * sizeof(float));
                mbt_sgd_bind(&sgd, n, saved[0], sgd.step);
            } else {
                memcpy(saved[0], lars.mu, n * sizeof(float));
                memset(lars.mu, 0xff, n * sizeof(float));
                mbt_lars_bind(&lars, n, saved[0], lars.step);
            }
        }
        for (long i = 0; i < n; i++) g[i] = (float)gr->data[(size_t)t * n + i];
        if (c->kind == KIND_ADAM) {
            mbt_adam_config cfg = c->adam;
            cfg.lr = lrs->data[t];
            CHECK_OK(mbt_adam_step(&adam, &cfg, p, g));
        } else if (c->kind == KIND_SGD) {
            mbt_sgd_config cfg = c->sgd;
            cfg.lr = lrs->data[t];
            CHECK_OK(mbt_sgd_step(&sgd, &cfg, p, g));
        } else {
            mbt_lars_config cfg = c->lars;
            cfg.lr_weights = lrs->data[2 * t];
            cfg.lr_biases = lrs->data[2 * t + 1];
            CHECK_OK(mbt_lars_step(&lars, &cfg, segs, nseg, p, g));
        }
        snprintf(ctx, sizeof ctx, "%s step %d (resume at %d)", c->name, t + 1, resume_at);
        check_vec(ctx, "params", p, traj->data + (size_t)t * n, n);
    }
    if (c->kind == KIND_ADAM) {
        check_vec(ctx, "exp_avg", adam.m, getn(f, c->name, "exp_avg")->data, n);
        check_vec(ctx, "exp_avg_sq", adam.v, getn(f, c->name, "exp_avg_sq")->data, n);
        CHECK(adam.step == T);
    } else if (c->kind == KIND_SGD && c->sgd.momentum != 0) {
        check_vec(ctx, "momentum_buffer", sgd.buf, getn(f, c->name, "momentum_buffer")->data, n);
    } else if (c->kind == KIND_LARS) {
        check_vec(ctx, "mu", lars.mu, getn(f, c->name, "mu")->data, n);
    }
    mbt_plan_free(&plan);
    free(saved[0]), free(saved[1]), free(p), free(g);
}

static void check_series(const char *what, const double *got, const fixture_array *ref, long n) {
    CHECK_MSG(ref && (long)ref->numel == n, "%s: fixture length", what);
    if (!ref || (long)ref->numel != n) return;
    for (long i = 0; i < n; i++)
        CHECK_MSG(fabs(got[i] - ref->data[i]) <= 1e-12 * fabs(ref->data[i]) + 1e-300,
                  "%s[%ld] = %.17g, expected %.17g", what, i, got[i], ref->data[i]);
}

static void schedules(void) {
    fixture_file f;
    if (fixture_load(&f, "optim_schedules.bin")) {
        CHECK_MSG(0, "cannot load optim_schedules.bin");
        return;
    }
    double got[2048];
    for (int c = 1; c <= 2; c++) {
        char key[32];
        snprintf(key, sizeof key, "cos%d_steps", c);
        const fixture_array *steps = fixture_get(&f, key);
        snprintf(key, sizeof key, "cos%d_meta", c);
        const fixture_array *meta = fixture_get(&f, key);
        snprintf(key, sizeof key, "cos%d_lr", c);
        long n = (long)steps->numel;
        for (long i = 0; i < n && i < 2048; i++)
            got[i] = mbt_sched_cosine((int64_t)steps->data[i], (int64_t)meta->data[0], (int)meta->data[1], 10,
                                      (int)meta->data[2]);
        check_series(key, got, fixture_get(&f, key), n);
    }
    /* Quirk 1: the reference's first step is steps_per_epoch, and the last one lies past the cosine's end. */
    CHECK(mbt_sched_small_data_step(1, 195, 0) == 195);
    CHECK(mbt_sched_small_data_step(2000, 195, 194) == 2000 * 195 + 194);
    CHECK(mbt_sched_cosine(mbt_sched_small_data_step(1, 195, 0), 195, 2000, 10, 256) > 0.0);
    CHECK(mbt_sched_cosine(0, 195, 2000, 10, 256) == 0.0);

    for (int e = 0; e < 2; e++) {
        const int E = e ? 60 : 2000;
        for (int k = 1; k <= E; k++) got[k - 1] = mbt_sched_pretrain_step(k, E);
        char key[32];
        snprintf(key, sizeof key, "pretrain_step_%d", E);
        check_series(key, got, fixture_get(&f, key), E);
    }
    for (int e = 0; e < 2; e++) {
        const int E = e ? 7 : 200;
        for (int k = 1; k <= E; k++) got[k - 1] = mbt_sched_linear_probe(k, E);
        char key[32];
        snprintf(key, sizeof key, "linear_probe_%d", E);
        check_series(key, got, fixture_get(&f, key), E);
    }
    for (int E = 100; E >= 7; E -= 93) { /* evaluate_imagenet.py's CosineAnnealingLR */
        char key[32];
        snprintf(key, sizeof key, "imagenet_linear_%d", E);
        for (int k = 1; k <= E; k++) got[k - 1] = mbt_sched_cosine_annealing(0.3, k - 1, E);
        check_series(key, got, fixture_get(&f, key), E);
    }
    for (int k = 1; k <= 100; k++) got[k - 1] = mbt_sched_transfer(k);
    check_series("transfer_100", got, fixture_get(&f, "transfer_100"), 100);
    for (int k = 0; k < 700; k++) got[k] = mbt_sched_warmup_factor(k, 500);
    check_series("warmup_500", got, fixture_get(&f, "warmup_500"), 700);
    /* Generic forms. */
    const int ms[3] = {30, 10, 10};
    CHECK_CLOSE(mbt_sched_multistep(1.0, 0.5, ms, 3, 9), 1.0, 0, 0);
    CHECK_CLOSE(mbt_sched_multistep(1.0, 0.5, ms, 3, 10), 0.25, 1e-15, 0);
    CHECK_CLOSE(mbt_sched_multistep(1.0, 0.5, ms, 3, 30), 0.125, 1e-15, 0);
    CHECK_CLOSE(mbt_sched_exponential(2.0, 0.5, 3), 0.25, 1e-15, 0);
    fixture_free(&f);
}

static void errors(void) {
    mbt_lars_state st;
    float mu[4] = {0}, p[4] = {1, 2, 3, 4}, g[4] = {1, 1, 1, 1};
    mbt_lars_bind(&st, 4, mu, 0);
    mbt_lars_config cfg = mbt_lars_defaults();
    mbt_lars_segment bad = {.offset = 2, .length = 3, .is_vector = 0};
    CHECK(mbt_lars_step(&st, &cfg, &bad, 1, p, g) == MBT_ERR_ARG);
    CHECK(p[2] == 3.0f && st.step == 0);
    mbt_adam_state as;
    mbt_adam_bind(&as, 4, NULL, NULL, 0);
    mbt_adam_config ac = mbt_adam_defaults();
    CHECK(mbt_adam_step(&as, &ac, p, g) == MBT_ERR_ARG);
    CHECK(ac.lr == 1e-3 && ac.beta1 == 0.9 && ac.beta2 == 0.999 && ac.eps == 1e-8 && ac.weight_decay == 0.0);
    CHECK(cfg.momentum == 0.9 && cfg.eta == 1e-3 && cfg.weight_decay == 1e-6);
}

int main(void) {
    fixture_file f;
    if (fixture_load(&f, "optim_trajectories.bin") == 0) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            run_trajectory(&f, &cases[i], 0);
            run_trajectory(&f, &cases[i], 2);
        }
        fixture_free(&f);
    } else {
        CHECK_MSG(0, "cannot load optim_trajectories.bin");
    }
    schedules();
    errors();
    return check_report("test_optim");
}
