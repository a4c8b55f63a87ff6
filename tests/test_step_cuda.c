/* The Mixed Barlow Twins step with Adam on the GPU against the same on the CPU (the CPU step is the one
 * test_step_parity checks against PyTorch): ResNet-18 at 32 px, B = 8, d = 64, from the same pattern
 * weights and inputs (uploaded to the device as pretrain does), two steps of mbt_mixbt_step_run + Adam
 * + sync_params. Per step: the losses, every gradient, and the updated parameters; then a checkpoint
 * written from the GPU (model and Adam state downloaded) read into a CPU model and Adam state gives the
 * GPU's values bit for bit, and read back into a fresh GPU model and state gives them too. The second
 * step runs on the parameters Adam updated on the device, so it also proves the update reaches the ops
 * (sync_params). Then two steps queued before either is collected, with different perms changed right
 * after queuing behind a busy stream, give the losses of the same steps run synchronously. Skipped (exit
 * 77) without a CUDA build or a GPU.
 *
 * Tolerances (relative): losses 1e-4 with fp32 products (MIXBT_NO_TF32=1), 1e-2 with TF32 (the
 * default); gradients per tensor (norm-wise) 2e-2 / 2e-1: this net's gradients are chaotic at B = 8
 * (tools/bf16_error_estimate.py emulates the GPU's arithmetic on the same model and weights: worst
 * per-tensor errors 6e-3 for fp32 with 1e-5 jitter per convolution, 7e-2 for TF32). Parameter updates: Adam's first step moves
 * each weight by lr * g / (|g| + eps), i.e. by +-lr wherever |g| >> eps, so an update may flip where
 * the gradient is within rounding of zero: after the first step each update must agree within 1e-3 lr
 * (plus the storage rounding of the parameter) wherever |g| > max(0.1, 3 x the gradient tolerance) x
 * the tensor's largest |g|; after the second, per tensor, ||u_gpu - u_cpu|| <= 0.2 ||u_cpu|| (TF32: 0.5),
 * which a missing, doubled or stale update fails (error about 1); every update is at most 1.01 lr. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/runtime.h"
#include "model_pattern.h"
#include "optim/adam.h"
#include "tasks/train_checkpoint.h"
#include "tasks/mixbt_step.h"
#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#include "cuda_busy.h"
#endif

#ifdef MIXBT_HAVE_CUDA

#define B 8
#define SIZE 32
#define DIM 64
#define STEPS 2
#define LR 1e-3

static double tol_loss(void) { return mbt_cuda_tf32_enabled() ? 1e-2 : 1e-4; }
static double tol_grad(void) { return mbt_cuda_tf32_enabled() ? 2e-1 : 2e-2; }

static float *download(const float *dev, size_t n) {
    float *h = malloc(n * sizeof(float) + 1);
    CHECK_OK(mbt_cuda_to_host(h, dev, n * sizeof(float)));
    return h;
}

typedef struct {
    mbt_model *model;
    mbt_mixbt_step step;
    mbt_plan opt_plan, in_plan;
    mbt_adam_state adam;
    float *x1, *x2; /* inputs on the model's device */
} side;

static int side_init(side *s, mbt_device device, const mbt_model_config *cfg) {
    memset(s, 0, sizeof *s);
    if (!CHECK_OK(mbt_model_create(&s->model, cfg, B, 3, 1, device))) return 0;
    pattern_set_params(s->model, "bn2");
    CHECK_OK(mbt_model_params_to_device(s->model));
    if (!CHECK_OK(mbt_mixbt_step_init(&s->step, s->model, 1))) return 0;
    mbt_plan_init(&s->opt_plan, device);
    mbt_adam_plan(&s->adam, &s->opt_plan, mbt_model_flat_size(s->model));
    CHECK_OK(mbt_plan_commit(&s->opt_plan));
    mbt_plan_init(&s->in_plan, device);
    mbt_plan_floats(&s->in_plan, &s->x1, (size_t)B * 3 * SIZE * SIZE);
    mbt_plan_floats(&s->in_plan, &s->x2, (size_t)B * 3 * SIZE * SIZE);
    return CHECK_OK(mbt_plan_commit(&s->in_plan));
}

static void side_free(side *s) {
    mbt_mixbt_step_free(&s->step);
    mbt_plan_free(&s->opt_plan);
    mbt_plan_free(&s->in_plan);
    mbt_model_destroy(s->model);
}

static void upload(side *s, const float *x1, const float *x2) {
    size_t bytes = (size_t)B * 3 * SIZE * SIZE * sizeof(float);
    if (mbt_model_device(s->model) == MBT_DEVICE_CPU) {
        memcpy(s->x1, x1, bytes);
        memcpy(s->x2, x2, bytes);
    } else {
        CHECK_OK(mbt_cuda_to_device(s->x1, x1, bytes));
        CHECK_OK(mbt_cuda_to_device(s->x2, x2, bytes));
    }
}

/* The updated parameters of each weight tensor (see the header for the rule; after the first step,
 * whose update is +-lr per element, each element is checked; after later ones, where the update also
 * depends on the earlier gradients, the updates are compared norm-wise per tensor). */
static void compare_updates(int step, mbt_model *cpu, const float *before, const float *after_cpu,
                            const float *after_gpu, const float *grad_cpu) {
    int checked = 0;
    const double thr = fmax(0.1, 3 * tol_grad()); /* of the tensor's largest |g|: too far from 0 to flip */
    for (size_t t = 0; t < mbt_model_param_count(cpu); t++) {
        mbt_param *p = mbt_model_param(cpu, t);
        if (p->kind != MBT_PARAM_WEIGHT) continue;
        size_t off = (size_t)(p->data - mbt_model_flat_params(cpu)), flipped = 0, bad = 0, worst_at = 0;
        double gmax = 0, worst = 0, num = 0, den = 0;
        for (size_t k = 0; k < p->numel; k++) gmax = fmax(gmax, fabs(grad_cpu[off + k]));
        for (size_t k = 0; k < p->numel; k++) {
            size_t i = off + k;
            double uc = (double)after_cpu[i] - before[i], ug = (double)after_gpu[i] - before[i];
            double ulp = nextafterf(fabsf(before[i]), INFINITY) - fabsf(before[i]);
            if (fabs(ug) > LR * 1.01 + 2 * ulp) bad++; /* Adam's steps are at most about lr */
            double d = fabs(ug - uc);
            num += d * d;
            den += uc * uc;
            if (step > 0) continue;
            if (fabs(grad_cpu[i]) > thr * gmax) {
                if (d > 1e-3 * LR + 2 * ulp) bad++;
                if (d > worst) worst = d, worst_at = k;
            } else if (d > 1e-3 * LR + 2 * ulp) {
                flipped++;
            }
        }
        CHECK_MSG(bad == 0, "step %d: %s: %zu updates disagree or exceed lr (worst %.3g at %zu, lr %g)", step, p->name,
                  bad, worst, worst_at, LR);
        if (step > 0) {
            double e = den > 0 ? sqrt(num / den) : sqrt(num), tol = mbt_cuda_tf32_enabled() ? 0.5 : 0.2;
            CHECK_MSG(e <= tol, "step %d: %s: updates differ by %.3g norm-wise (> %.3g)", step, p->name, e, tol);
        }
        if (flipped)
            printf("step %d: %s: %zu of %zu updates differ where |g| <= %.2g max |g|\n", step, p->name, flipped,
                   p->numel, thr);
        checked++;
    }
    CHECK_MSG(checked == 65, "step %d: %d trainable tensors compared", step, checked); /* ResNet-18 + projector */
}

/* A checkpoint written from the GPU side, read into `into` (either device): the same values. */
static void checkpoint_round_trip(const char *path, side *gpu, side *into, const char *what) {
    mbt_train_position pos = {1, STEPS, 0, -1, 5}, back;
    if (!CHECK_OK(mbt_checkpoint_save(path, gpu->model, &gpu->adam, &pos, "{}"))) return;
    if (!CHECK_OK(mbt_checkpoint_load(path, into->model, &into->adam, &back, NULL))) return;
    CHECK(back.step == STEPS && into->adam.step == gpu->adam.step);
    size_t n = mbt_model_flat_size(gpu->model);
    float *g = download(mbt_model_flat_params(gpu->model), n), *gm = download(gpu->adam.m, n),
          *gv = download(gpu->adam.v, n);
    int on_cpu = mbt_model_device(into->model) == MBT_DEVICE_CPU;
    float *i = on_cpu ? mbt_model_flat_params(into->model) : download(mbt_model_flat_params(into->model), n);
    float *im = on_cpu ? into->adam.m : download(into->adam.m, n), *iv = on_cpu ? into->adam.v : download(into->adam.v, n);
    CHECK_MSG(!memcmp(g, i, n * sizeof(float)), "checkpoint into %s: parameters differ", what);
    CHECK_MSG(!memcmp(gm, im, n * sizeof(float)), "checkpoint into %s: Adam exp_avg differs", what);
    CHECK_MSG(!memcmp(gv, iv, n * sizeof(float)), "checkpoint into %s: Adam exp_avg_sq differs", what);
    /* running statistics and counters, through the host copies */
    CHECK_OK(mbt_model_params_to_host(gpu->model));
    CHECK_OK(mbt_model_params_to_host(into->model));
    for (size_t t = 0; t < mbt_model_param_count(gpu->model); t++) {
        mbt_param *a = mbt_model_param(gpu->model, t), *b = mbt_model_param(into->model, t);
        if (a->kind == MBT_PARAM_BUFFER)
            CHECK_MSG(!memcmp(a->data, b->data, a->numel * sizeof(float)), "checkpoint into %s: %s differs", what, a->name);
        if (a->kind == MBT_PARAM_COUNTER)
            CHECK_MSG(*a->counter == *b->counter, "checkpoint into %s: %s differs", what, a->name);
    }
    if (!on_cpu) free(i), free(im), free(iv);
    free(g), free(gm), free(gv);
}

int main(void) {
    int skip = check_cuda_or_skip("test_step_cuda");
    if (skip) return skip;
    mbt_set_threads(2);
    mbt_model_config cfg = mbt_model_config_small(MBT_ARCH_RESNET18, SIZE, DIM);
    side cpu, gpu;
    if (!side_init(&cpu, MBT_DEVICE_CPU, &cfg) || !side_init(&gpu, MBT_DEVICE_CUDA, &cfg)) return check_report("test_step_cuda");
    mbt_adam_config ac = mbt_adam_defaults();
    ac.weight_decay = 1e-6;
    ac.lr = LR;
    size_t n = mbt_model_flat_size(cpu.model), n_in = (size_t)B * 3 * SIZE * SIZE;
    float *x1 = malloc(n_in * sizeof(float)), *x2 = malloc(n_in * sizeof(float)), *before = malloc(n * sizeof(float));
    for (int i = 0; i < STEPS; i++) {
        for (size_t k = 0; k < n_in; k++) {
            x1[k] = (float)(2.0 * pattern(3000 + 10 * i, (int64_t)k));
            x2[k] = (float)(2.0 * pattern(3000 + 10 * i + 1, (int64_t)k));
        }
        upload(&cpu, x1, x2);
        upload(&gpu, x1, x2);
        int32_t perm[B];
        mbt_bt_params bp = {(float)0.0078125, 4.0f, 0.0f, 0};
        mbt_mixbt_draw_mix(5, i, B, perm, &bp.alpha);
        memcpy(before, mbt_model_flat_params(cpu.model), n * sizeof(float));
        mbt_bt_losses lc, lg;
        CHECK_OK(mbt_mixbt_step_run(&cpu.step, cpu.x1, cpu.x2, perm, &bp, &lc));
        CHECK_OK(mbt_mixbt_step_run(&gpu.step, gpu.x1, gpu.x2, perm, &bp, &lg));
        printf("step %d: loss_bt %.6f / %.6f  loss_reg %.6f / %.6f (CPU / GPU, %s)\n", i, lc.loss_bt, lg.loss_bt,
               lc.loss_reg, lg.loss_reg, mbt_cuda_tf32_enabled() ? "TF32" : "fp32");
        CHECK_CLOSE(lg.loss_bt, lc.loss_bt, tol_loss(), 0);
        CHECK_CLOSE(lg.loss_reg, lc.loss_reg, tol_loss(), 0);
        CHECK_CLOSE(lg.on_diag, lc.on_diag, tol_loss(), 1e-6);
        CHECK_CLOSE(lg.off_diag, lc.off_diag, tol_loss(), 1e-6);
        /* gradients, per tensor */
        float *gg = download(mbt_model_flat_grads(gpu.model), n);
        const float *gc = mbt_model_flat_grads(cpu.model);
        for (size_t t = 0; t < mbt_model_param_count(cpu.model); t++) {
            mbt_param *p = mbt_model_param(cpu.model, t);
            if (p->kind != MBT_PARAM_WEIGHT) continue;
            size_t off = (size_t)(p->data - mbt_model_flat_params(cpu.model));
            double e = check_rel_err(gg + off, gc + off, p->numel);
            CHECK_MSG(e <= tol_grad(), "step %d: gradient of %s relative error %.3g > %.3g", i, p->name, e, tol_grad());
        }
        float *grad_cpu = malloc(n * sizeof(float));
        memcpy(grad_cpu, gc, n * sizeof(float));
        /* Adam on each device, then the ops see the new weights */
        CHECK_OK(mbt_adam_step(&cpu.adam, &ac, mbt_model_flat_params(cpu.model), mbt_model_flat_grads(cpu.model)));
        CHECK_OK(mbt_model_sync_params(cpu.model));
        CHECK_OK(mbt_adam_step(&gpu.adam, &ac, mbt_model_flat_params(gpu.model), mbt_model_flat_grads(gpu.model)));
        CHECK_OK(mbt_model_sync_params(gpu.model));
        float *pg = download(mbt_model_flat_params(gpu.model), n);
        compare_updates(i, cpu.model, before, mbt_model_flat_params(cpu.model), pg, grad_cpu);
        free(pg), free(gg), free(grad_cpu);
    }

    { /* Two steps queued before either is collected, behind a busy stream, each perm overwritten as soon as its
       * step is queued: each step mixes with its own perm (uploaded once per step from its own staging slot), as
       * synchronous steps say. */
        int32_t pa[B], pb[B], scratch[B];
        mbt_bt_params bp = {(float)0.0078125, 4.0f, 0.0f, 0};
        mbt_mixbt_draw_mix(5, 100, B, pa, &bp.alpha);
        for (int b = 0; b < B; b++) pb[b] = pa[(b + 1) % B];
        mbt_bt_losses q1, q2, s1, s2;
        cuda_keep_busy(20);
        memcpy(scratch, pa, sizeof scratch);
        int queued = CHECK_OK(mbt_mixbt_step_queue(&gpu.step, gpu.x1, gpu.x2, scratch, &bp));
        memcpy(scratch, pb, sizeof scratch);
        queued = queued && CHECK_OK(mbt_mixbt_step_queue(&gpu.step, gpu.x1, gpu.x2, scratch, &bp));
        memset(scratch, 0, sizeof scratch);
        if (queued && CHECK_OK(mbt_mixbt_step_collect(&gpu.step, &q1)) && CHECK_OK(mbt_mixbt_step_collect(&gpu.step, &q2)) &&
            CHECK_OK(mbt_mixbt_step_run(&gpu.step, gpu.x1, gpu.x2, pa, &bp, &s1)) &&
            CHECK_OK(mbt_mixbt_step_run(&gpu.step, gpu.x1, gpu.x2, pb, &bp, &s2))) {
            printf("queued steps: loss_reg %.9g / %.9g, synchronous %.9g / %.9g\n", q1.loss_reg, q2.loss_reg,
                   s1.loss_reg, s2.loss_reg);
            CHECK_CLOSE(q1.loss_reg, s1.loss_reg, 1e-6, 0);
            CHECK_CLOSE(q2.loss_reg, s2.loss_reg, 1e-6, 0);
            CHECK_MSG(fabs(s1.loss_reg - s2.loss_reg) > 1e-4 * fabs(s1.loss_reg),
                      "the two perms give nearly the same loss_reg (%.9g, %.9g)", s1.loss_reg, s2.loss_reg);
        }
    }

    char dir[] = "/tmp/mixbt_step_cuda_XXXXXX", path[64];
    int have_dir = mkdtemp(dir) != NULL;
    CHECK_MSG(have_dir, "cannot make a temporary folder %s", dir);
    if (have_dir) {
        snprintf(path, sizeof path, "%s/last.safetensors", dir);
        side cpu2, gpu2;
        if (side_init(&cpu2, MBT_DEVICE_CPU, &cfg)) checkpoint_round_trip(path, &gpu, &cpu2, "a CPU model");
        side_free(&cpu2);
        if (side_init(&gpu2, MBT_DEVICE_CUDA, &cfg)) checkpoint_round_trip(path, &gpu, &gpu2, "a GPU model");
        side_free(&gpu2);
        unlink(path);
        rmdir(dir);
    }
    free(x1), free(x2), free(before);
    side_free(&cpu);
    side_free(&gpu);
    return check_report("test_step_cuda");
}

#else

int main(void) { return check_cuda_or_skip("test_step_cuda"); }

#endif
