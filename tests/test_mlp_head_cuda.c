/* The baselines' heads and backbone-only encoder on the GPU against the same on the CPU (which
 * test_mlp_head and test_model_sslsota check against PyTorch): the same pattern weights (written through
 * the host copy the entries point to), two training forwards of 10 and 7 rows, their backward (dx, every
 * gradient), the BN running statistics and counters, the evaluation forward; the seeded initialisation
 * is the same bits on both devices. Skipped (exit 77) without a CUDA build or a GPU.
 *
 * Tolerances, ||gpu - cpu|| / ||cpu|| per tensor: 1e-4 in exact fp32 (MIXBT_NO_TF32=1: float roundings in
 * other orders over sums of at most 32 terms and BN over 7 to 10 rows), 2e-2 with TF32 products (10-bit
 * mantissas: 5e-4 per product, grown by the BN's division by a batch standard deviation). A gradient that is
 * analytically zero (a Linear bias followed by BN) is rounding noise on both devices: it is measured against
 * 1e-2 of the norm of the whole gradient vector instead. The encoder uses test_model_cuda's bounds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/runtime.h"
#include "model_pattern.h"
#include "models/mlp_head.h"
#include "models/model.h"
#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#endif

#ifdef MIXBT_HAVE_CUDA

#define ROWS 10

static double tol(void) { return mbt_cuda_tf32_enabled() ? 2e-2 : 1e-4; }

static float *dev_alloc(size_t n) {
    void *p = NULL;
    if (cudaMalloc(&p, n * sizeof(float) + 1) != cudaSuccess) {
        fprintf(stderr, "cudaMalloc of %zu floats failed\n", n);
        exit(1);
    }
    return p;
}

static float *dev_from(const float *h, size_t n) {
    float *d = dev_alloc(n);
    CHECK_OK(mbt_cuda_to_device(d, h, n * sizeof(float)));
    return d;
}

static double norm(const float *a, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * a[i];
    return sqrt(s);
}

/* ||got - want|| <= t * max(||want||, floor). */
static void compare(const char *ctx, const char *what, const float *got, const float *want, size_t n, double floor,
                    double t) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
    double den = fmax(norm(want, n), floor), e = isnan(d) ? INFINITY : sqrt(d) / (den > 0 ? den : 1);
    CHECK_MSG(e <= t, "%s: %s relative error %.3g > %.3g", ctx, what, e, t);
}

static void compare_dev(const char *ctx, const char *what, const float *dev, const float *cpu, size_t n) {
    float *got = malloc(n * sizeof(float) + 1);
    CHECK_OK(mbt_cuda_to_host(got, dev, n * sizeof(float)));
    compare(ctx, what, got, cpu, n, 0, tol());
    free(got);
}

static float *pattern_floats(int64_t tag, size_t n) {
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (float)pattern(tag, (int64_t)i);
    return v;
}

static void run_head(const char *name, mbt_head_config cfg) {
    mbt_head *cpu = NULL, *gpu = NULL;
    if (!CHECK_OK(mbt_head_create(&cpu, &cfg, ROWS, 2, 1, MBT_DEVICE_CPU)) ||
        !CHECK_OK(mbt_head_create(&gpu, &cfg, ROWS, 2, 1, MBT_DEVICE_CUDA))) {
        mbt_head_destroy(cpu);
        return;
    }
    CHECK(mbt_head_flat_size(gpu) == mbt_head_flat_size(cpu) && mbt_head_device(gpu) == MBT_DEVICE_CUDA);
    /* the seeded initialisation: the same bits on both devices */
    CHECK_OK(mbt_head_init_params(cpu, 9, 4));
    CHECK_OK(mbt_head_init_params(gpu, 9, 4));
    size_t np = mbt_head_flat_size(cpu);
    float *flat = malloc(np * sizeof(float));
    CHECK_OK(mbt_cuda_to_host(flat, mbt_head_flat_params(gpu), np * sizeof(float)));
    CHECK_MSG(!memcmp(flat, mbt_head_flat_params(cpu), np * sizeof(float)), "%s: initial parameters differ", name);
    free(flat);
    mbt_head *both[2] = {cpu, gpu};
    for (int k = 0; k < 2; k++) {
        for (size_t t = 0; t < mbt_head_param_count(both[k]); t++)
            pattern_set_param(mbt_head_param(both[k], t), t, "no-such-bn");
        CHECK_OK(mbt_head_params_to_device(both[k]));
        CHECK_OK(mbt_head_zero_grads(both[k]));
    }
    int n_rows[2] = {10, 7}, in = cfg.in_dim, out = cfg.out_dim;
    float *x[2], *dout[2], *xd[2], *doutd[2], *dx = malloc((size_t)ROWS * in * sizeof(float));
    float *dxd = dev_alloc((size_t)ROWS * in);
    char what[160];
    for (int s = 0; s < 2; s++) {
        x[s] = pattern_floats(100 + s, (size_t)n_rows[s] * in);
        dout[s] = pattern_floats(200 + s, (size_t)n_rows[s] * out);
        xd[s] = dev_from(x[s], (size_t)n_rows[s] * in);
        doutd[s] = dev_from(dout[s], (size_t)n_rows[s] * out);
        const float *yc = NULL, *yg = NULL;
        CHECK_OK(mbt_head_forward_train(cpu, s, n_rows[s], x[s], &yc));
        CHECK_OK(mbt_head_forward_train(gpu, s, n_rows[s], xd[s], &yg));
        snprintf(what, sizeof what, "out%d", s);
        if (yc && yg) compare_dev(name, what, yg, yc, (size_t)n_rows[s] * out);
    }
    for (int s = 1; s >= 0; s--) {
        CHECK_OK(mbt_head_backward(cpu, s, dout[s], dx));
        CHECK_OK(mbt_head_backward(gpu, s, doutd[s], dxd));
        snprintf(what, sizeof what, "dx%d", s);
        compare_dev(name, what, dxd, dx, (size_t)n_rows[s] * in);
    }
    CHECK_OK(mbt_head_params_to_host(gpu));
    double gnorm = norm(mbt_head_flat_grads(cpu), np);
    for (size_t t = 0; t < mbt_head_param_count(cpu); t++) {
        mbt_param *pc = mbt_head_param(cpu, t), *pg = mbt_head_param(gpu, t);
        CHECK(!strcmp(pc->name, pg->name));
        if (pc->kind == MBT_PARAM_COUNTER) {
            CHECK_MSG(*pc->counter == *pg->counter, "%s: %s differs", name, pc->name);
            continue;
        }
        int w = pc->kind == MBT_PARAM_WEIGHT;
        snprintf(what, sizeof what, "%s%s", w ? "gradient of " : "", pc->name);
        compare(name, what, w ? pg->grad : pg->data, w ? pc->grad : pc->data, pc->numel, w ? 1e-2 * gnorm : 0, tol());
    }
    float *yc = malloc((size_t)ROWS * out * sizeof(float)), *ygd = dev_alloc((size_t)ROWS * out);
    CHECK_OK(mbt_head_forward_eval(cpu, 6, x[0], yc));
    CHECK_OK(mbt_head_forward_eval(gpu, 6, xd[0], ygd));
    compare_dev(name, "eval_out", ygd, yc, (size_t)6 * out);
    free(yc);
    cudaFree(ygd);
    cudaFree(dxd);
    free(dx);
    for (int s = 0; s < 2; s++) {
        free(x[s]), free(dout[s]);
        cudaFree(xd[s]), cudaFree(doutd[s]);
    }
    mbt_head_destroy(cpu);
    mbt_head_destroy(gpu);
}

/* The backbone-only encoder: features, and backward from dfeature alone. */
static void run_encoder(void) {
    enum { BATCH = 4, SIZE = 32 };
    mbt_model_config cfg;
    CHECK_OK(mbt_model_config_sslsota(MBT_ARCH_RESNET18, SIZE, "model.module.", &cfg));
    mbt_model *cpu = NULL, *gpu = NULL;
    if (!CHECK_OK(mbt_model_create(&cpu, &cfg, BATCH, 1, 1, MBT_DEVICE_CPU)) ||
        !CHECK_OK(mbt_model_create(&gpu, &cfg, BATCH, 1, 1, MBT_DEVICE_CUDA))) {
        mbt_model_destroy(cpu);
        return;
    }
    pattern_set_params(cpu, "bn2");
    pattern_set_params(gpu, "bn2");
    CHECK_OK(mbt_model_params_to_device(cpu));
    CHECK_OK(mbt_model_params_to_device(gpu));
    CHECK_OK(mbt_model_zero_grads(cpu));
    CHECK_OK(mbt_model_zero_grads(gpu));
    size_t n_in = (size_t)BATCH * 3 * SIZE * SIZE, n_feat = (size_t)BATCH * 512;
    float *x = malloc(n_in * sizeof(float)), *df = pattern_floats(61, n_feat);
    for (size_t i = 0; i < n_in; i++) x[i] = (float)(2.0 * pattern(60, (int64_t)i));
    float *xd = dev_from(x, n_in), *dfd = dev_from(df, n_feat);
    const float *fc = NULL, *fg = NULL, *og = NULL;
    CHECK_OK(mbt_model_forward_train(cpu, 0, x, &fc, NULL));
    CHECK_OK(mbt_model_forward_train(gpu, 0, xd, &fg, &og));
    CHECK(og == fg);
    double tf = mbt_cuda_tf32_enabled() ? 3e-2 : 2e-4, tg = mbt_cuda_tf32_enabled() ? 3e-1 : 5e-2;
    if (fc && fg) {
        float *got = malloc(n_feat * sizeof(float));
        CHECK_OK(mbt_cuda_to_host(got, fg, n_feat * sizeof(float)));
        compare("encoder", "features", got, fc, n_feat, 0, tf);
        free(got);
    }
    CHECK_OK(mbt_model_backward(cpu, 0, NULL, df));
    CHECK_OK(mbt_model_backward(gpu, 0, NULL, dfd));
    CHECK_OK(mbt_model_params_to_host(gpu));
    for (size_t t = 0; t < mbt_model_param_count(cpu); t++) {
        mbt_param *pc = mbt_model_param(cpu, t), *pg = mbt_model_param(gpu, t);
        if (pc->kind == MBT_PARAM_WEIGHT) compare("encoder", pc->name, pg->grad, pc->grad, pc->numel, 0, tg);
    }
    free(x), free(df);
    cudaFree(xd), cudaFree(dfd);
    mbt_model_destroy(cpu);
    mbt_model_destroy(gpu);
}

int main(void) {
    int skip = check_cuda_or_skip("test_mlp_head_cuda");
    if (skip) return skip;
    mbt_set_threads(2);
    mbt_head_config c;
    if (CHECK_OK(mbt_head_config_sslsota(32, 20, 2, 12, "head.", &c))) run_head("sslsota", c);
    c.out_bn = 1;
    strcpy(c.out_bn_prefix, "bn_last.");
    run_head("simclr", c);
    if (CHECK_OK(mbt_head_config_sslsota(32, 20, 3, 12, "head.", &c))) {
        c.hidden_bn = 0;
        run_head("nobn", c);
    }
    run_encoder();
    return check_report("test_mlp_head_cuda");
}

#else

int main(void) { return check_cuda_or_skip("test_mlp_head_cuda"); }

#endif
