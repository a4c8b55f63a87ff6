/* Times the training step of any pretraining method (mixbt, bt, simclr, byol, wmse) on the CPU through
 * the method interface, as `mixbt pretrain` runs it: the method's forward and backward passes and loss,
 * Adam on every parameter segment and the after-update hook (BYOL's EMA), on synthetic views (no data
 * loading). Prints one RESULT line (JSON): original images per second (median and best step).
 * Usage: bench_method --method M [--arch resnet18] [--batch 64] [--steps 3] [--warmup 1] [--threads 2]
 *                     [--views 2] [--emb 64] [--w-size 128] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/plan.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "optim/adam.h"
#include "tasks/method.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *method = "mixbt", *arch = "resnet18";
    int batch = 64, steps = 3, warmup = 1, threads = 2, views = 2, emb = 64, w_size = 128;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--method")) method = v;
        else if (!strcmp(k, "--arch")) arch = v;
        else if (!strcmp(k, "--batch")) batch = atoi(v);
        else if (!strcmp(k, "--steps")) steps = atoi(v);
        else if (!strcmp(k, "--warmup")) warmup = atoi(v);
        else if (!strcmp(k, "--threads")) threads = atoi(v);
        else if (!strcmp(k, "--views")) views = atoi(v);
        else if (!strcmp(k, "--emb")) emb = atoi(v);
        else if (!strcmp(k, "--w-size")) w_size = atoi(v);
        else {
            fprintf(stderr, "bench_method: unknown flag %s\n", k);
            return 2;
        }
    }
    if (steps < 1 || batch < 2) {
        fprintf(stderr, "bench_method: --steps >= 1 and --batch >= 2\n");
        return 2;
    }
    mbt_set_threads(threads);
    mbt_method_config cfg;
    mbt_method_config_defaults(&cfg);
    if (mbt_method_parse(method, &cfg.kind) != MBT_OK || mbt_arch_parse(arch, &cfg.arch) != MBT_OK) {
        fprintf(stderr, "bench_method: %s\n", mbt_error_message());
        return 2;
    }
    cfg.image_size = 32;
    cfg.batch = batch;
    cfg.seed = 1;
    cfg.n_views = views;
    cfg.emb = emb;
    cfg.w_size = w_size < batch ? w_size : batch;
    cfg.w_eps = 1e-2;
    if (cfg.kind == MBT_METHOD_BT) cfg.lambda_reg = 0;
    mbt_method *m = NULL;
    if (mbt_method_create(&m, &cfg, MBT_DEVICE_CPU, MBT_PRECISION_FP32) != MBT_OK) {
        fprintf(stderr, "bench_method: %s\n", mbt_error_message());
        return 1;
    }
    size_t n_in = (size_t)batch * 3 * 32 * 32;
    float *x = malloc((size_t)m->n_views * n_in * sizeof(float));
    const float *xv[MBT_METHOD_MAX_VIEWS];
    mbt_rng rng;
    mbt_rng_init(&rng, 7, 0);
    for (size_t i = 0; i < (size_t)m->n_views * n_in; i++) x[i] = (float)mbt_rng_normal(&rng);
    for (int v = 0; v < m->n_views; v++) xv[v] = x + (size_t)v * n_in;
    mbt_plan plan;
    mbt_plan_init(&plan, MBT_DEVICE_CPU);
    mbt_adam_state adam[MBT_METHOD_MAX_SEGMENTS];
    for (int s = 0; s < m->n_segments; s++) mbt_adam_plan(&adam[s], &plan, m->segments[s].n);
    mbt_adam_config acfg = mbt_adam_defaults();
    acfg.lr = 1e-3;
    acfg.weight_decay = 1e-6;
    double *times = malloc((size_t)(warmup + steps) * sizeof(double)), values[MBT_METHOD_MAX_VALUES];
    mbt_status st = mbt_plan_commit(&plan);
    for (int i = 0; st == MBT_OK && i < warmup + steps; i++) {
        mbt_method_step_info info = {i, 1, 100, NULL};
        double t0 = now();
        st = mbt_method_queue(m, xv, &info);
        for (int s = 0; st == MBT_OK && s < m->n_segments; s++)
            st = mbt_adam_step(&adam[s], &acfg, m->segments[s].params, m->segments[s].grads);
        if (st == MBT_OK) st = mbt_method_after_update(m, &info);
        if (st == MBT_OK) st = mbt_method_collect(m, values);
        times[i] = now() - t0;
    }
    if (st != MBT_OK) {
        fprintf(stderr, "bench_method: %s\n", mbt_error_message());
        return 1;
    }
    double *t = times + warmup;
    qsort(t, (size_t)steps, sizeof *t, cmp_double);
    printf("RESULT {\"impl\": \"mixbt\", \"method\": \"%s\", \"arch\": \"%s\", \"batch\": %d, \"views\": %d, "
           "\"threads\": %d, \"steps\": %d, \"step_s_median\": %.4f, \"orig_per_s_median\": %.2f, "
           "\"orig_per_s_best\": %.2f, \"loss\": %.5f}\n",
           method, arch, batch, m->n_views, threads, steps, t[steps / 2], batch / t[steps / 2], batch / t[0], values[0]);
    mbt_plan_free(&plan);
    mbt_method_destroy(m);
    free(times);
    free(x);
    return 0;
}
