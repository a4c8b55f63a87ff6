/* A model on the GPU against the same model on the CPU (the CPU model is the one test_model_parity checks
 * against PyTorch): the same weights (the deterministic pattern, written through the host copy the
 * entries point to), two training forwards (features and outputs), their backward (every gradient), the
 * BN running statistics and counters they leave, and the evaluation forwards of a partial batch
 * (normalised and raw features, outputs) of the training model and of a model built for evaluation.
 * Cases: ResNet-18 at 32 px (CIFAR stem), at 64 px (stem with max pooling), ResNet-50 at 32 px (bottleneck
 * blocks, a downsample in every stage), and ResNet-18 in the ImageNet layout
 * (7x7/2 stem, projector 64-32 without bias, unnormalised output) at 64 px. Also: the seeded
 * initialisation is the same bits on both devices, and params_to_host/params_to_device round-trip.
 * Skipped (exit 77) without a CUDA build or a GPU.
 *
 * Each case runs with the GPU model in fp32 and again with its backbone in bf16
 * (mbt_model_create_precision), against the same fp32 CPU model.
 *
 * Tolerances, ||gpu - cpu|| / ||cpu|| per tensor (forward values and running statistics; gradients per
 * tensor; the flat gradient vector):
 *   exact fp32 (MIXBT_NO_TF32=1)  2e-4   5e-2   5e-2
 *   TF32 products (the default)   3e-2   3e-1   3e-1
 *   bf16 backbone                 1.5e-1 1.2    0.9
 * The gradients of these deep batch-normalised nets over batches of 4 and 8 are chaotic (ReLU and
 * max-pool flips), so rounding differences grow large in them: tools/bf16_error_estimate.py emulates
 * the GPU's arithmetic on the CPU on exactly these cases and gives as worst errors (forward; gradient
 * per tensor; flat) 9e-5, 2e-2, 1.2e-2 for fp32 (1e-5 relative jitter on every convolution, for
 * cuDNN's and the CPU's different summation orders), 4e-3, 0.14, 0.11 for TF32 and 5e-2, 0.57, 0.43
 * for bf16 (ResNet-50 the worst each time). The bounds are about twice those. At these bounds the
 * model test catches wiring (a wrong buffer type or size, a missing or doubled pass: errors of 1 and
 * more, or NaN), not small numeric errors: those are the op tests' (test_ops_cuda, test_ops_bf16_cuda),
 * which are tight. The printed worst errors of a GPU run are what to set these to. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/runtime.h"
#include "model_pattern.h"
#include "models/model.h"
#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#endif

#ifdef MIXBT_HAVE_CUDA

static mbt_precision precision; /* of the GPU model in the current case */

static double tol_forward(void) {
    return precision == MBT_PRECISION_BF16 ? 1.5e-1 : mbt_cuda_tf32_enabled() ? 3e-2 : 2e-4;
}
static double tol_grad(void) {
    return precision == MBT_PRECISION_BF16 ? 1.2 : mbt_cuda_tf32_enabled() ? 3e-1 : 5e-2;
}
static double tol_flat_grad(void) { return precision == MBT_PRECISION_BF16 ? 0.9 : tol_grad(); }

static float *dev_alloc(size_t n) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, n * sizeof(float) + 1);
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

/* Compares n floats of device memory with the CPU's host values. */
static void compare_dev(const char *ctx, const char *what, const float *dev, const float *cpu, size_t n, double tol) {
    float *got = malloc(n * sizeof(float));
    CHECK_OK(mbt_cuda_to_host(got, dev, n * sizeof(float)));
    double e = check_rel_err(got, cpu, n);
    CHECK_MSG(e <= tol, "%s: %s relative error %.3g > %.3g", ctx, what, e, tol);
    free(got);
}

/* Every entry of kind `kind` (WEIGHT: the gradients when grads is set, else the values) of the CUDA
 * model (through its host copy, refreshed first) against the CPU model's. Returns the worst error. */
static double compare_entries(const char *ctx, mbt_model *gpu, mbt_model *cpu, mbt_param_kind kind, int grads,
                              double tol) {
    CHECK_OK(mbt_model_params_to_host(gpu));
    double worst = 0;
    int compared = 0;
    for (size_t t = 0; t < mbt_model_param_count(cpu); t++) {
        mbt_param *pc = mbt_model_param(cpu, t), *pg = mbt_model_param(gpu, t);
        if (pc->kind != kind) continue;
        CHECK(!strcmp(pc->name, pg->name) && pc->numel == pg->numel);
        if (kind == MBT_PARAM_COUNTER) {
            CHECK_MSG(*pc->counter == *pg->counter, "%s: %s = %lld on the GPU, %lld on the CPU", ctx, pc->name,
                      (long long)*pg->counter, (long long)*pc->counter);
            compared++;
            continue;
        }
        const float *a = grads ? pg->grad : pg->data, *b = grads ? pc->grad : pc->data;
        double e = check_rel_err(a, b, pc->numel);
        CHECK_MSG(e <= tol, "%s: %s%s relative error %.3g > %.3g", ctx, grads ? "gradient of " : "", pc->name, e, tol);
        if (e > worst) worst = e;
        compared++;
    }
    CHECK_MSG(compared > 0, "%s: no entries of kind %d", ctx, (int)kind);
    return worst;
}

/* Sets both models from the pattern (the CUDA one through its host copy), then uploads. */
static void set_both(mbt_model *cpu, mbt_model *gpu, const char *last_bn) {
    pattern_set_params(cpu, last_bn);
    CHECK_OK(mbt_model_params_to_device(cpu));
    pattern_set_params(gpu, last_bn);
    CHECK_OK(mbt_model_params_to_device(gpu));
}

static void run_case(const char *case_name, mbt_model_config cfg, int batch) {
    int size = cfg.image_size, dim = cfg.feature_dim;
    char name[96];
    snprintf(name, sizeof name, "%s%s", case_name, precision == MBT_PRECISION_BF16 ? " (bf16)" : "");
    mbt_model *cpu = NULL, *gpu = NULL;
    if (!CHECK_OK(mbt_model_create(&cpu, &cfg, batch, 2, 1, MBT_DEVICE_CPU)) ||
        !CHECK_OK(mbt_model_create_precision(&gpu, &cfg, batch, 2, 1, MBT_DEVICE_CUDA, precision))) {
        mbt_model_destroy(cpu);
        return;
    }
    CHECK(mbt_model_device(gpu) == MBT_DEVICE_CUDA && mbt_model_device(cpu) == MBT_DEVICE_CPU);
    CHECK(mbt_model_precision(gpu) == precision);
    CHECK(mbt_model_flat_size(gpu) == mbt_model_flat_size(cpu));
    int emb = mbt_model_embedding_dim(cfg.arch);
    size_t n_in = (size_t)batch * 3 * size * size, n_out = (size_t)batch * dim, n_feat = (size_t)batch * emb;
    char ctx[128];

    /* the seeded initialisation: drawn on the host, the same bits on both devices */
    CHECK_OK(mbt_model_init_params(cpu, 42));
    CHECK_OK(mbt_model_init_params(gpu, 42));
    snprintf(ctx, sizeof ctx, "%s init", name);
    CHECK_MSG(compare_entries(ctx, gpu, cpu, MBT_PARAM_WEIGHT, 0, 0.0) == 0.0, "%s: weights differ", ctx);
    CHECK_MSG(compare_entries(ctx, gpu, cpu, MBT_PARAM_BUFFER, 0, 0.0) == 0.0, "%s: buffers differ", ctx);
    { /* the flat device vector is what the host copy says */
        size_t n = mbt_model_flat_size(gpu);
        float *flat = malloc(n * sizeof(float));
        CHECK_OK(mbt_cuda_to_host(flat, mbt_model_flat_params(gpu), n * sizeof(float)));
        CHECK_MSG(!memcmp(flat, mbt_model_flat_params(cpu), n * sizeof(float)), "%s: flat parameters differ", ctx);
        free(flat);
    }

    set_both(cpu, gpu, cfg.arch == MBT_ARCH_RESNET50 ? "bn3" : "bn2");
    CHECK_OK(mbt_model_zero_grads(cpu));
    CHECK_OK(mbt_model_zero_grads(gpu));
    float *x[2], *xd[2], *dout[2], *doutd[2];
    for (int s = 0; s < 2; s++) {
        x[s] = malloc(n_in * sizeof(float));
        dout[s] = malloc(n_out * sizeof(float));
        for (size_t i = 0; i < n_in; i++) x[s][i] = (float)(2.0 * pattern(1000 + s, (int64_t)i));
        for (size_t i = 0; i < n_out; i++) dout[s][i] = (float)pattern(2000 + s, (int64_t)i);
        xd[s] = dev_from(x[s], n_in);
        doutd[s] = dev_from(dout[s], n_out);
    }

    /* training forwards on two slots (two BN batches) */
    for (int s = 0; s < 2; s++) {
        const float *fc, *oc, *fg, *og;
        CHECK_OK(mbt_model_forward_train(cpu, s, x[s], &fc, &oc));
        CHECK_OK(mbt_model_forward_train(gpu, s, xd[s], &fg, &og));
        snprintf(ctx, sizeof ctx, "%s training forward slot %d", name, s);
        compare_dev(ctx, "features", fg, fc, n_feat, tol_forward());
        compare_dev(ctx, "outputs", og, oc, n_out, tol_forward());
    }
    snprintf(ctx, sizeof ctx, "%s after 2 training forwards", name);
    double e_buf = compare_entries(ctx, gpu, cpu, MBT_PARAM_BUFFER, 0, tol_forward());
    compare_entries(ctx, gpu, cpu, MBT_PARAM_COUNTER, 0, 0);

    /* backward of both slots: every gradient */
    for (int s = 1; s >= 0; s--) {
        CHECK_OK(mbt_model_backward(cpu, s, dout[s], NULL));
        CHECK_OK(mbt_model_backward(gpu, s, doutd[s], NULL));
    }
    snprintf(ctx, sizeof ctx, "%s backward", name);
    double e_grad = compare_entries(ctx, gpu, cpu, MBT_PARAM_WEIGHT, 1, tol_grad());
    { /* and the flat gradient vector as a whole */
        size_t n = mbt_model_flat_size(gpu);
        float *flat = malloc(n * sizeof(float));
        CHECK_OK(mbt_cuda_to_host(flat, mbt_model_flat_grads(gpu), n * sizeof(float)));
        double e = check_rel_err(flat, mbt_model_flat_grads(cpu), n);
        CHECK_MSG(e <= tol_flat_grad(), "%s: flat gradient relative error %.3g > %.3g", ctx, e, tol_flat_grad());
        printf("%s: flat gradient relative error %.3g\n", ctx, e);
        free(flat);
    }

    /* evaluation forwards of a partial batch (padded inside the model) */
    int n = batch - 1;
    float *fc = malloc(n_feat * sizeof(float)), *oc = malloc(n_out * sizeof(float));
    float *fd = dev_alloc(n_feat), *od = dev_alloc(n_out);
    snprintf(ctx, sizeof ctx, "%s evaluation forward of %d", name, n);
    CHECK_OK(mbt_model_forward_eval(cpu, n, x[1], fc, oc));
    CHECK_OK(mbt_model_forward_eval(gpu, n, xd[1], fd, od));
    compare_dev(ctx, "normalised features", fd, fc, (size_t)n * emb, tol_forward());
    compare_dev(ctx, "outputs", od, oc, (size_t)n * dim, tol_forward());
    CHECK_OK(mbt_model_forward_eval_raw(cpu, n, x[0], fc, NULL));
    CHECK_OK(mbt_model_forward_eval_raw(gpu, n, xd[0], fd, NULL));
    compare_dev(ctx, "raw features", fd, fc, (size_t)n * emb, tol_forward());

    /* a model built for evaluation, loaded from the training model's state through the host copies */
    mbt_model *eval_gpu = NULL;
    if (CHECK_OK(mbt_model_create_precision(&eval_gpu, &cfg, batch, 1, 0, MBT_DEVICE_CUDA, precision))) {
        CHECK_OK(mbt_model_params_to_host(gpu));
        for (size_t t = 0; t < mbt_model_param_count(gpu); t++) {
            mbt_param *src = mbt_model_param(gpu, t), *dst = mbt_model_param(eval_gpu, t);
            if (src->kind == MBT_PARAM_COUNTER) *dst->counter = *src->counter;
            else memcpy(dst->data, src->data, src->numel * sizeof(float));
        }
        CHECK_OK(mbt_model_params_to_device(eval_gpu));
        snprintf(ctx, sizeof ctx, "%s evaluation model", name);
        CHECK_OK(mbt_model_forward_eval(cpu, n, x[0], fc, oc));
        CHECK_OK(mbt_model_forward_eval(eval_gpu, n, xd[0], fd, od));
        compare_dev(ctx, "normalised features", fd, fc, (size_t)n * emb, tol_forward());
        compare_dev(ctx, "outputs", od, oc, (size_t)n * dim, tol_forward());
        mbt_model_destroy(eval_gpu);
    }

    /* params_to_host then params_to_device leaves the device values as they were */
    {
        size_t nf = mbt_model_flat_size(gpu);
        float *before = malloc(nf * sizeof(float)), *after = malloc(nf * sizeof(float));
        CHECK_OK(mbt_cuda_to_host(before, mbt_model_flat_params(gpu), nf * sizeof(float)));
        CHECK_OK(mbt_model_params_to_host(gpu));
        CHECK_OK(mbt_model_params_to_device(gpu));
        CHECK_OK(mbt_cuda_to_host(after, mbt_model_flat_params(gpu), nf * sizeof(float)));
        CHECK_MSG(!memcmp(before, after, nf * sizeof(float)), "%s: parameters changed by a host round trip", name);
        free(before), free(after);
    }
    printf("%s: worst relative error: running statistics %.3g, gradients %.3g (%s)\n", name, e_buf, e_grad,
           precision == MBT_PRECISION_BF16 ? "bf16" : mbt_cuda_tf32_enabled() ? "TF32" : "fp32");

    for (int s = 0; s < 2; s++) {
        free(x[s]), free(dout[s]);
        cudaFree(xd[s]), cudaFree(doutd[s]);
    }
    free(fc), free(oc);
    cudaFree(fd), cudaFree(od);
    mbt_model_destroy(cpu);
    mbt_model_destroy(gpu);
}

int main(void) {
    int skip = check_cuda_or_skip("test_model_cuda");
    if (skip) return skip;
    mbt_set_threads(2);
    for (int p = 0; p < 2; p++) {
        precision = p ? MBT_PRECISION_BF16 : MBT_PRECISION_FP32;
        run_case("resnet18 32 px", mbt_model_config_small(MBT_ARCH_RESNET18, 32, 64), 8);
        run_case("resnet18 64 px", mbt_model_config_small(MBT_ARCH_RESNET18, 64, 32), 4);
        run_case("resnet50 32 px", mbt_model_config_small(MBT_ARCH_RESNET50, 32, 64), 4); /* bottlenecks */
        mbt_model_config imagenet; /* 7x7/2 stem, unnormalised output (device copies of out and dout) */
        if (CHECK_OK(mbt_model_config_imagenet(MBT_ARCH_RESNET18, "64-32", &imagenet))) {
            imagenet.image_size = 64;
            run_case("resnet18 imagenet layout 64 px", imagenet, 4);
        }
    }
    return check_report("test_model_cuda");
}

#else

int main(void) { return check_cuda_or_skip("test_model_cuda"); }

#endif
