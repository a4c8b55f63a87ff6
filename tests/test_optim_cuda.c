/* The GPU optimizer steps (Adam, SGD with and without momentum, LARS) against the CPU ones: the same
 * parameters, gradients and learning rates for several steps, then the parameters and the optimizer state
 * compared. The CPU steps are the ones tests/test_optim.c checks against torch.optim. LARS has weight and
 * 1-D segments, a segment of zero weights (trust ratio 1), one longer than the norm reduction's blocks
 * cover in one round, and elements outside every segment (left alone). Skipped (exit 77) without a CUDA
 * build or a GPU. Tolerance: 1e-6 relative to each array's largest |CPU value| (both backends evaluate the
 * same float expressions; the GPU rounds each operation, the CPU compiler may fuse multiply-adds). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/plan.h"
#include "core/rng.h"
#include "core/status.h"
#include "optim/adam.h"
#include "optim/lars.h"
#include "optim/sgd.h"
#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#endif

#ifdef MIXBT_HAVE_CUDA

#define STEPS 5
#define TOL 1e-6

enum { KIND_ADAM, KIND_SGD, KIND_LARS };

static mbt_rng rng;

static float *rand_f(size_t n, double scale) {
    float *a = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) a[i] = (float)(scale * mbt_rng_normal(&rng));
    return a;
}

static float *dev_from(const float *h, size_t n) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, n * sizeof(float));
    if (e != cudaSuccess) {
        fprintf(stderr, "cudaMalloc of %zu floats failed: %s\n", n, cudaGetErrorString(e));
        exit(1);
    }
    CHECK_OK(mbt_cuda_to_device(p, h, n * sizeof(float)));
    return p;
}

static void expect_same(const char *ctx, const char *what, const float *dev, const float *cpu, size_t n) {
    float *got = malloc(n * sizeof(float));
    double *ref = malloc(n * sizeof(double)), scale = 0;
    CHECK_OK(mbt_cuda_to_host(got, dev, n * sizeof(float)));
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i] = cpu[i]));
    long worst;
    double v = check_max_violation(got, ref, (long)n, TOL, scale > 0 ? TOL * scale : 1e-30, &worst);
    CHECK_MSG(v <= 1.0, "%s %s: element %ld = %.9g, CPU %.9g (violation %.3g)", ctx, what, worst, (double)got[worst],
              ref[worst], v);
    free(got), free(ref);
}

/* Runs STEPS steps of one optimizer on both devices from the same start and compares. */
static void run(const char *name, int kind, size_t n, const mbt_adam_config *adam_cfg,
                const mbt_sgd_config *sgd_cfg, const mbt_lars_config *lars_cfg, const mbt_lars_segment *segs,
                int nsegs) {
    float *p = rand_f(n, 0.5), *pd = dev_from(p, n);
    for (size_t k = 0; k < (size_t)nsegs; k++)
        if (segs[k].length == 777) /* the zero-weight segment */
            for (size_t i = 0; i < segs[k].length; i++) p[segs[k].offset + i] = 0.0f;
    CHECK_OK(mbt_cuda_to_device(pd, p, n * sizeof(float)));
    float *p0 = malloc(n * sizeof(float));
    memcpy(p0, p, n * sizeof(float));
    float *g = malloc(n * sizeof(float)), *gd = dev_from(p, n);

    mbt_plan pc, pg;
    mbt_plan_init(&pc, MBT_DEVICE_CPU);
    mbt_plan_init(&pg, MBT_DEVICE_CUDA);
    mbt_adam_state ac, ag;
    mbt_sgd_state sc, sg;
    mbt_lars_state lc, lg;
    if (kind == KIND_ADAM) mbt_adam_plan(&ac, &pc, n), mbt_adam_plan(&ag, &pg, n);
    else if (kind == KIND_SGD) mbt_sgd_plan(&sc, &pc, n), mbt_sgd_plan(&sg, &pg, n);
    else mbt_lars_plan(&lc, &pc, n), mbt_lars_plan(&lg, &pg, n);
    if (!CHECK_OK(mbt_plan_commit(&pc)) || !CHECK_OK(mbt_plan_commit(&pg))) return;
    CHECK(kind != KIND_ADAM || (ag.device == MBT_DEVICE_CUDA && ac.device == MBT_DEVICE_CPU));
    CHECK(kind != KIND_SGD || (sg.device == MBT_DEVICE_CUDA && sc.device == MBT_DEVICE_CPU));
    CHECK(kind != KIND_LARS || (lg.device == MBT_DEVICE_CUDA && lc.device == MBT_DEVICE_CPU));

    for (int t = 0; t < STEPS; t++) {
        for (size_t i = 0; i < n; i++) g[i] = (float)(0.1 * mbt_rng_normal(&rng));
        CHECK_OK(mbt_cuda_to_device(gd, g, n * sizeof(float)));
        const double lr = 0.01 * (1.0 + t) / STEPS;
        if (kind == KIND_ADAM) {
            mbt_adam_config c = *adam_cfg;
            c.lr = lr;
            CHECK_OK(mbt_adam_step(&ac, &c, p, g));
            CHECK_OK(mbt_adam_step(&ag, &c, pd, gd));
        } else if (kind == KIND_SGD) {
            mbt_sgd_config c = *sgd_cfg;
            c.lr = lr;
            CHECK_OK(mbt_sgd_step(&sc, &c, p, g));
            CHECK_OK(mbt_sgd_step(&sg, &c, pd, gd));
        } else {
            mbt_lars_config c = *lars_cfg;
            c.lr_weights = 20 * lr;
            c.lr_biases = 0.5 * lr;
            CHECK_OK(mbt_lars_step(&lc, &c, segs, nsegs, p, g));
            CHECK_OK(mbt_lars_step(&lg, &c, segs, nsegs, pd, gd));
        }
    }
    char ctx[96];
    snprintf(ctx, sizeof ctx, "%s n=%zu after %d steps", name, n, STEPS);
    expect_same(ctx, "param", pd, p, n);
    if (kind == KIND_ADAM) {
        expect_same(ctx, "exp_avg", ag.m, ac.m, n);
        expect_same(ctx, "exp_avg_sq", ag.v, ac.v, n);
        CHECK(ag.step == STEPS && ac.step == STEPS);
    } else if (kind == KIND_SGD) {
        if (sgd_cfg->momentum != 0) expect_same(ctx, "momentum_buffer", sg.buf, sc.buf, n);
        CHECK(sg.step == STEPS && sc.step == STEPS);
    } else {
        expect_same(ctx, "mu", lg.mu, lc.mu, n);
        CHECK(lg.step == STEPS && lc.step == STEPS);
        /* elements outside every segment keep their values exactly */
        float *got = malloc(n * sizeof(float));
        CHECK_OK(mbt_cuda_to_host(got, pd, n * sizeof(float)));
        size_t end = 0, kept = 0, outside = 0;
        for (int k = 0; k <= nsegs; k++) {
            const size_t start = k < nsegs ? segs[k].offset : n;
            for (size_t i = end; i < start; i++) outside++, kept += got[i] == p0[i];
            if (k < nsegs) end = segs[k].offset + segs[k].length;
        }
        CHECK_MSG(outside > 0 && kept == outside, "%s: %zu of %zu elements outside the segments kept", ctx, kept,
                  outside);
        free(got);
    }
    mbt_plan_free(&pc);
    mbt_plan_free(&pg);
    cudaFree(pd), cudaFree(gd);
    free(p), free(p0), free(g);
}

static void run_all(void) {
    mbt_rng_init(&rng, 5, 11);
    const mbt_adam_config adam1 = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 1e-2};
    const mbt_adam_config adam2 = {.beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.0};
    run("adam wd", KIND_ADAM, 1000, &adam1, NULL, NULL, NULL, 0);
    run("adam", KIND_ADAM, 1000, &adam2, NULL, NULL, NULL, 0);
    run("adam large", KIND_ADAM, ((size_t)1 << 20) + 12345, &adam1, NULL, NULL, NULL, 0); /* grid-stride */
    const mbt_sgd_config sgd1 = {.momentum = 0.9, .weight_decay = 5e-4}, sgd2 = {.momentum = 0.0, .weight_decay = 1e-3};
    run("sgd momentum", KIND_SGD, 3001, NULL, &sgd1, NULL, NULL, 0);
    run("sgd plain", KIND_SGD, 3001, NULL, &sgd2, NULL, NULL, 0);
    /* weight 3000 | vector 64 | gap 100 | zero weights 777 | weight 70000 (> 256 blocks x 256) | vector 1 */
    const mbt_lars_segment segs[] = {{0, 3000, 0}, {3000, 64, 1}, {3164, 777, 0}, {3941, 70000, 0}, {73941, 1, 1}};
    const mbt_lars_config lars1 = {.weight_decay = 1e-2, .momentum = 0.9, .eta = 1e-3};
    const mbt_lars_config lars2 = {.weight_decay = 0.0, .momentum = 0.8, .eta = 2e-2};
    run("lars wd", KIND_LARS, 73942 + 5, NULL, NULL, &lars1, segs, 5);
    run("lars", KIND_LARS, 73942 + 5, NULL, NULL, &lars2, segs, 5);
}

#endif

int main(void) {
    int skip = check_cuda_or_skip("test_optim_cuda");
    if (skip) return skip;
#ifdef MIXBT_HAVE_CUDA
    mbt_cuda_context *ctx; /* before the first CUDA plan: the context registers the device allocator */
    if (!CHECK_OK(mbt_cuda_context_get(&ctx))) return check_report("test_optim_cuda");
    run_all();
#endif
    return check_report("test_optim_cuda");
}
