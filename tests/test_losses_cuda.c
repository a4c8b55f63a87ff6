/* The GPU Barlow Twins / Mixed BT loss (methods/barlow_twins.h on a CUDA workspace) against the CPU loss on
 * the same inputs: values and the three gradients, with the regulariser on (paper and gt_uses_z2 targets)
 * and off (lambda_reg = 0, dzm zeroed), B < d and B > d (the CPU then takes its d x d order, the GPU its
 * Gram order), a batch smaller than planned, a perm with repeated entries, values without gradients, calls
 * queued before collecting (with different device perms, behind a busy stream), and the zero-std error.
 * perm is device memory, as the step hands it over. Skipped (exit 77) without a CUDA build or a GPU.
 * Tolerances (relative; gradients relative to the array's largest |CPU value|): 1e-4 with fp32 products
 * (MIXBT_NO_TF32=1), 1e-2 with TF32 products (the default). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "core/status.h"
#include "methods/barlow_twins.h"
#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#include "cuda_busy.h"
#endif

#ifdef MIXBT_HAVE_CUDA

static double tol(void) { return mbt_cuda_tf32_enabled() ? 1e-2 : 1e-4; }

static mbt_rng rng;

static float *dev_alloc(size_t n) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, n * sizeof(float));
    if (e != cudaSuccess) {
        fprintf(stderr, "cudaMalloc of %zu floats failed: %s\n", n, cudaGetErrorString(e));
        exit(1);
    }
    return p;
}

static float *dev_from(const float *h, size_t n) {
    float *d = dev_alloc(n);
    CHECK_OK(mbt_cuda_to_device(d, h, n * sizeof(float)));
    return d;
}

static int32_t *dev_perm(const int32_t *h, int n) {
    int32_t *d = (int32_t *)dev_alloc((size_t)n); /* as many 4-byte entries */
    CHECK_OK(mbt_cuda_to_device(d, h, (size_t)n * sizeof(int32_t)));
    return d;
}

/* Projector-like outputs: per-column offsets and scales, correlated with `base` when given. */
static float *make_z(int B, int d, const float *base, double mix) {
    float *z = malloc((size_t)B * d * sizeof(float));
    for (int j = 0; j < d; j++) {
        const double off = 2.0 * mbt_rng_uniform_double(&rng) - 1.0, sc = 0.5 + 2.0 * mbt_rng_uniform_double(&rng);
        for (int b = 0; b < B; b++) {
            const size_t at = (size_t)b * d + j;
            double v = mbt_rng_normal(&rng);
            if (base) v = mix * base[at] + (1.0 - mix) * v;
            z[at] = (float)(off + sc * v);
        }
    }
    return z;
}

static void check_grad(const char *ctx, const char *name, const float *dev, const float *cpu, size_t n) {
    float *got = malloc(n * sizeof(float));
    double *ref = malloc(n * sizeof(double)), scale = 0;
    CHECK_OK(mbt_cuda_to_host(got, dev, n * sizeof(float)));
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i] = cpu[i]));
    long worst;
    /* an all-zero reference (dzm without the regulariser) must be matched exactly */
    double v = check_max_violation(got, ref, (long)n, tol(), scale > 0 ? tol() * scale : 1e-30, &worst);
    CHECK_MSG(v <= 1.0, "%s %s: element %ld = %.9g, CPU %.9g (scale %.3g, violation %.3g)", ctx, name, worst,
              (double)got[worst], ref[worst], scale, v);
    free(got), free(ref);
}

static void check_value(const char *ctx, const char *name, double gpu, double cpu) {
    CHECK_MSG(fabs(gpu - cpu) <= tol() * fabs(cpu) + 1e-12, "%s %s: GPU %.9g, CPU %.9g", ctx, name, gpu, cpu);
}

/* One case: the CPU loss (AUTO order) and the GPU loss on a workspace planned for B + extra rows. */
static void run_case(int B, int d, int extra, float lambda_reg, int gt_uses_z2, int repeated_perm) {
    char ctx[160];
    snprintf(ctx, sizeof ctx, "B=%d d=%d (planned %d) lambda_reg=%g gt_uses_z2=%d%s", B, d, B + extra,
             (double)lambda_reg, gt_uses_z2, repeated_perm ? " repeated perm" : "");
    const size_t n = (size_t)B * d;
    float *z1 = make_z(B, d, NULL, 0), *z2 = make_z(B, d, z1, 0.7), *zm = make_z(B, d, z1, 0.4);
    int32_t *perm = malloc(B * sizeof(int32_t));
    mbt_rng_permutation(&rng, perm, B);
    if (repeated_perm)
        for (int b = 0; b < B; b += 3) perm[b] = perm[0];
    mbt_bt_params p = {.lambda_bt = 1.0f / 128, .lambda_reg = lambda_reg, .alpha = 0.3f, .gt_uses_z2 = gt_uses_z2};

    float *c1 = malloc(n * 4), *c2 = malloc(n * 4), *cm = malloc(n * 4);
    mbt_bt_workspace wc, wg;
    mbt_bt_losses lc, lg, lv;
    if (!CHECK_OK(mbt_bt_workspace_init(&wc, B, d, 1, MBT_BT_PATH_AUTO, MBT_DEVICE_CPU))) return;
    CHECK_OK(mbt_bt_loss(&wc, B, z1, z2, zm, perm, &p, &lc, c1, c2, cm));
    mbt_bt_workspace_free(&wc);

    float *z1d = dev_from(z1, n), *z2d = dev_from(z2, n), *zmd = dev_from(zm, n);
    float *g1 = dev_alloc(n), *g2 = dev_alloc(n), *gm = dev_from(z1, n); /* dzm holds garbage before */
    int32_t *perm_d = dev_perm(perm, B);
    if (CHECK_OK(mbt_bt_workspace_init(&wg, B + extra, d, 1, MBT_BT_PATH_AUTO, MBT_DEVICE_CUDA))) {
        CHECK(wg.path == MBT_BT_PATH_GRAM);
        if (CHECK_OK(mbt_bt_loss(&wg, B, z1d, z2d, zmd, perm_d, &p, &lg, g1, g2, gm))) {
            check_value(ctx, "loss_bt", lg.loss_bt, lc.loss_bt);
            check_value(ctx, "loss_reg", lg.loss_reg, lc.loss_reg);
            check_value(ctx, "on_diag", lg.on_diag, lc.on_diag);
            check_value(ctx, "off_diag", lg.off_diag, lc.off_diag);
            check_grad(ctx, "dz1", g1, c1, n);
            check_grad(ctx, "dz2", g2, c2, n);
            check_grad(ctx, "dzm", gm, cm, n); /* zero when lambda_reg == 0 */
        }
        /* Values alone, twice on the same workspace: the same numbers. */
        if (CHECK_OK(mbt_bt_loss(&wg, B, z1d, z2d, zmd, perm_d, &p, &lv, NULL, NULL, NULL))) {
            check_value(ctx, "loss_bt (no gradients)", lv.loss_bt, lc.loss_bt);
            check_value(ctx, "loss_reg (no gradients)", lv.loss_reg, lc.loss_reg);
            CHECK(lv.loss_bt == lg.loss_bt && lv.loss_reg == lg.loss_reg);
        }
        /* Two calls queued before either is collected: the same values, oldest first. */
        mbt_bt_losses q1, q2;
        mbt_bt_params p2 = p;
        p2.lambda_bt = 2 * p.lambda_bt;
        if (CHECK_OK(mbt_bt_loss_queue(&wg, B, z1d, z2d, zmd, perm_d, &p, g1, g2, gm)) &&
            CHECK_OK(mbt_bt_loss_queue(&wg, B, z1d, z2d, zmd, perm_d, &p2, NULL, NULL, NULL)) &&
            CHECK_OK(mbt_bt_loss_collect(&wg, &q1)) && CHECK_OK(mbt_bt_loss_collect(&wg, &q2))) {
            CHECK(q1.loss_bt == lg.loss_bt && q1.loss_reg == lg.loss_reg);
            CHECK(q2.on_diag == lg.on_diag && q2.off_diag == lg.off_diag);
            CHECK(q2.loss_bt == q2.on_diag + (double)p2.lambda_bt * q2.off_diag);
        }
        /* Two calls with different device perms queued behind a busy stream: each reads its own, as
         * synchronous calls afterwards say. */
        if (lambda_reg != 0.0f) {
            int32_t *perm2 = malloc(B * sizeof(int32_t));
            for (int b = 0; b < B; b++) perm2[b] = perm[B - 1 - b];
            int32_t *perm2_d = dev_perm(perm2, B);
            mbt_bt_losses r1, r2, s1, s2;
            cuda_keep_busy(20);
            int queued = CHECK_OK(mbt_bt_loss_queue(&wg, B, z1d, z2d, zmd, perm_d, &p, NULL, NULL, NULL));
            queued = queued && CHECK_OK(mbt_bt_loss_queue(&wg, B, z1d, z2d, zmd, perm2_d, &p, NULL, NULL, NULL));
            if (queued && CHECK_OK(mbt_bt_loss_collect(&wg, &r1)) && CHECK_OK(mbt_bt_loss_collect(&wg, &r2)) &&
                CHECK_OK(mbt_bt_loss(&wg, B, z1d, z2d, zmd, perm_d, &p, &s1, NULL, NULL, NULL)) &&
                CHECK_OK(mbt_bt_loss(&wg, B, z1d, z2d, zmd, perm2_d, &p, &s2, NULL, NULL, NULL))) {
                CHECK_MSG(r1.loss_reg == s1.loss_reg && r2.loss_reg == s2.loss_reg,
                          "%s: queued loss_reg %.9g, %.9g; synchronous %.9g, %.9g", ctx, r1.loss_reg, r2.loss_reg,
                          s1.loss_reg, s2.loss_reg);
                CHECK_MSG(s1.loss_reg != s2.loss_reg, "%s: the two perms give the same loss_reg", ctx);
            }
            free(perm2);
            cudaFree(perm2_d);
        }
        mbt_bt_workspace_free(&wg);
    }
    cudaFree(z1d), cudaFree(z2d), cudaFree(zmd), cudaFree(g1), cudaFree(g2), cudaFree(gm), cudaFree(perm_d);
    free(z1), free(z2), free(zm), free(perm), free(c1), free(c2), free(cm);
}

/* A constant column of zm is reported by name and column, as on the CPU; the COV order is refused. */
static void error_paths(void) {
    enum { B = 8, D = 6 };
    float *z1 = make_z(B, D, NULL, 0), *z2 = make_z(B, D, NULL, 0), *zm = make_z(B, D, NULL, 0);
    for (int b = 0; b < B; b++) zm[b * D + 4] = 0.5f;
    int32_t perm[B] = {1, 0, 3, 2, 5, 4, 7, 6};
    mbt_bt_params p = {.lambda_bt = 0.01f, .lambda_reg = 1.0f, .alpha = 0.5f};
    mbt_bt_workspace ws;
    mbt_bt_losses L;
    CHECK(mbt_bt_workspace_init(&ws, B, D, 1, MBT_BT_PATH_COV, MBT_DEVICE_CUDA) == MBT_ERR_UNSUPPORTED);
    float *z1d = dev_from(z1, B * D), *z2d = dev_from(z2, B * D), *zmd = dev_from(zm, B * D);
    float *g1 = dev_alloc(B * D), *g2 = dev_alloc(B * D), *gm = dev_alloc(B * D);
    int32_t *perm_d = dev_perm(perm, B);
    if (CHECK_OK(mbt_bt_workspace_init(&ws, B, D, 1, MBT_BT_PATH_GRAM, MBT_DEVICE_CUDA))) {
        CHECK(mbt_bt_loss(&ws, B, z1d, z2d, zmd, perm_d, &p, &L, g1, g2, gm) == MBT_ERR_NUMERIC);
        CHECK_MSG(strstr(mbt_error_message(), "column 4 of zm") != NULL, "message: %s", mbt_error_message());
        /* queued, the error comes with the collect */
        CHECK_OK(mbt_bt_loss_queue(&ws, B, z1d, z2d, zmd, perm_d, &p, g1, g2, gm));
        CHECK(mbt_bt_loss_collect(&ws, &L) == MBT_ERR_NUMERIC);
        CHECK_MSG(strstr(mbt_error_message(), "column 4 of zm") != NULL, "message: %s", mbt_error_message());
        /* without the regulariser zm is not used: no error */
        p.lambda_reg = 0.0f;
        CHECK_OK(mbt_bt_loss(&ws, B, z1d, z2d, zmd, perm_d, &p, &L, g1, g2, gm));
        mbt_bt_workspace_free(&ws);
    }
    cudaFree(z1d), cudaFree(z2d), cudaFree(zmd), cudaFree(g1), cudaFree(g2), cudaFree(gm), cudaFree(perm_d);
    free(z1), free(z2), free(zm);
}

static void run_all(void) {
    mbt_rng_init(&rng, 77, 3);
    printf("test_losses_cuda: matrix products in %s\n", mbt_cuda_tf32_enabled() ? "TF32" : "fp32");
    run_case(16, 40, 0, 4.0f, 0, 0);   /* B < d, paper targets */
    run_case(16, 40, 0, 4.0f, 1, 0);   /* gt_uses_z2 */
    run_case(16, 40, 0, 0.0f, 0, 0);   /* plain Barlow Twins */
    run_case(48, 20, 0, 2.0f, 0, 0);   /* B > d */
    run_case(48, 20, 0, 2.0f, 1, 0);
    run_case(48, 20, 0, 0.0f, 0, 0);
    run_case(12, 40, 5, 4.0f, 1, 0);   /* smaller batch than planned */
    run_case(30, 33, 0, 4.0f, 0, 1);   /* repeated perm entries (a gather, not a permutation) */
    run_case(256, 1024, 0, 4.0f, 0, 0); /* several blocks of columns and of rows in every kernel */
    error_paths();
}

#endif

int main(void) {
    int skip = check_cuda_or_skip("test_losses_cuda");
    if (skip) return skip;
#ifdef MIXBT_HAVE_CUDA
    mbt_cuda_context *ctx;
    if (!CHECK_OK(mbt_cuda_context_get(&ctx))) return check_report("test_losses_cuda");
    run_all();
#endif
    return check_report("test_losses_cuda");
}
