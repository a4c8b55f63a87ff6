/* Times the Mixed Barlow Twins training step of a ResNet on the CPU or a GPU, as `mixbt pretrain` runs
 * it: three forward and three backward passes (view 1, view 2, mixed view), the loss, and the Adam
 * update, on synthetic inputs already on the device (no data loading, no input copies).
 * Prints one RESULT line (JSON) per batch size: original images per second, GFLOP/s.
 * On CUDA each timed step ends with a synchronisation of the stream, so the time covers all its work;
 * then the same number of steps runs as pretrain queues them (the next step queued before the previous
 * one's losses are read), giving pipelined_orig_per_s and host_queue_s_median, the host's time to queue
 * one step with its Adam update (when it nears the step time, kernel launches are the limit).
 * step_cpu_s_min is the process CPU time of the fastest step: with --threads 1 it is what the step
 * costs on an otherwise idle core, the number least disturbed by other jobs on a shared machine.
 * Usage: bench_step [--arch resnet18] [--size 32] [--batches 32,64,128,256] [--steps 3]
 *                   [--warmup 1] [--threads 2] [--feature-dim 1024] [--device cpu|cuda|cuda:N]
 *                   [--precision fp32|bf16] (bf16: the backbone's activations, CUDA only)
 *                   [--conv-impl rule|rule+fwd|onednn|gemm|winograd|winograd4] (CPU convolutions:
 *                   the per-layer rule, the rule with its forward too, or one implementation wherever
 *                   it applies) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/device.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "models/model.h"
#include "ops/conv2d_impl_cpu.h"
#include "optim/adam.h"
#include "tasks/mixbt_step.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static mbt_precision precision = MBT_PRECISION_FP32; /* --precision */

static int bench_batch(mbt_arch arch, int size, int batch, int steps, int warmup, int feature_dim, int threads,
                       mbt_device device, const char *device_name) {
    mbt_model_config cfg = mbt_model_config_small(arch, size, feature_dim);
    mbt_model *m = NULL;
    if (mbt_model_create_precision(&m, &cfg, batch, 3, 1, device, precision) != MBT_OK ||
        mbt_model_init_params(m, 1) != MBT_OK) {
        fprintf(stderr, "bench_step: %s\n", mbt_error_message());
        mbt_model_destroy(m);
        return 1;
    }
    size_t n_in = (size_t)batch * 3 * size * size, n_out = (size_t)batch * feature_dim;
    float *x = malloc(3 * n_in * sizeof(float)), *dout = malloc(n_out * sizeof(float));
    mbt_rng rng;
    mbt_rng_init(&rng, 7, 0);
    for (size_t i = 0; i < 3 * n_in; i++) x[i] = (float)mbt_rng_normal(&rng);
    for (size_t i = 0; i < n_out; i++) dout[i] = (float)(1e-3 * mbt_rng_normal(&rng));
    double *times = malloc((size_t)steps * sizeof(double)), cpu_min = 1e30;
    mbt_mixbt_step step;
    memset(&step, 0, sizeof step);
    mbt_adam_state adam;
    mbt_plan opt_plan, in_plan;
    float *xd = x;
    mbt_plan_init(&in_plan, device);
    mbt_status st = MBT_OK;
    if (device != MBT_DEVICE_CPU) { /* the inputs on the device, once */
        mbt_plan_floats(&in_plan, &xd, 3 * n_in);
        st = mbt_plan_commit(&in_plan);
        if (st == MBT_OK) st = mbt_device_from_host(device, xd, x, 3 * n_in * sizeof(float));
    }
    mbt_plan_init(&opt_plan, device);
    mbt_adam_plan(&adam, &opt_plan, mbt_model_flat_size(m));
    if (st == MBT_OK) st = mbt_plan_commit(&opt_plan);
    if (st == MBT_OK) st = mbt_mixbt_step_init(&step, m, 1);
    mbt_adam_config adam_cfg = mbt_adam_defaults();
    adam_cfg.weight_decay = 1e-6f;
    adam_cfg.lr = 1e-4f;
    int32_t *perm = malloc((size_t)batch * sizeof(int32_t));
    mbt_bt_params params = {1.0f / 128, 4.0f, 0.5f, 0};
    mbt_bt_losses losses = {0, 0, 0, 0};
    for (int i = 0; i < warmup + steps && st == MBT_OK; i++) {
        double t0 = mbt_now(), c0 = cpu_now();
        mbt_mixbt_draw_mix(1, i, batch, perm, &params.alpha);
        st = mbt_mixbt_step_run(&step, xd, xd + n_in, perm, &params, &losses);
        if (st == MBT_OK) st = mbt_adam_step(&adam, &adam_cfg, mbt_model_flat_params(m), mbt_model_flat_grads(m));
        if (st == MBT_OK) st = mbt_model_sync_params(m);
        if (st == MBT_OK) st = mbt_device_synchronize(device, "bench_step"); /* the step's work is done */
        if (i >= warmup) times[i - warmup] = mbt_now() - t0;
        if (i >= warmup && cpu_now() - c0 < cpu_min) cpu_min = cpu_now() - c0;
    }
    /* GPU: the steps again as pretrain queues them (step t + 1 queued before step t's losses are
     * collected): the steady-state rate, and the host's time to queue one step (launch overhead; when it
     * comes close to the step time, the step is bound by launches, not by the GPU) */
    double pipelined = 0, host_med = 0;
    if (device != MBT_DEVICE_CPU && st == MBT_OK) {
        double *host = malloc((size_t)steps * sizeof(double)), t_all = mbt_now();
        int pending = 0;
        for (int i = 0; i < steps && st == MBT_OK; i++) {
            double t0 = mbt_now();
            mbt_mixbt_draw_mix(1, warmup + steps + i, batch, perm, &params.alpha);
            st = mbt_mixbt_step_queue(&step, xd, xd + n_in, perm, &params);
            if (st == MBT_OK) st = mbt_adam_step(&adam, &adam_cfg, mbt_model_flat_params(m), mbt_model_flat_grads(m));
            if (st == MBT_OK) st = mbt_model_sync_params(m);
            host[i] = mbt_now() - t0;
            if (st == MBT_OK && pending) st = mbt_mixbt_step_collect(&step, &losses);
            pending = st == MBT_OK;
        }
        if (st == MBT_OK && pending) st = mbt_mixbt_step_collect(&step, &losses);
        if (st == MBT_OK) st = mbt_device_synchronize(device, "bench_step");
        pipelined = (mbt_now() - t_all) / steps;
        qsort(host, (size_t)steps, sizeof *host, cmp_double);
        host_med = steps % 2 ? host[steps / 2] : 0.5 * (host[steps / 2 - 1] + host[steps / 2]);
        free(host);
    }
    (void)dout;
    if (st != MBT_OK) {
        fprintf(stderr, "bench_step: %s\n", mbt_error_message());
        return 1;
    }
    qsort(times, (size_t)steps, sizeof *times, cmp_double);
    double med = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
    double flops = 3.0 * 3.0 * mbt_model_forward_flops(m) * batch; /* 3 views x (forward + 2x backward) */
    printf("RESULT {\"impl\": \"mixbt\", \"arch\": \"%s\", \"size\": %d, \"batch\": %d, \"threads\": %d, "
           "\"steps\": %d, \"step_s_median\": %.4f, \"step_s_min\": %.4f, \"orig_per_s_median\": %.2f, "
           "\"gflops_median\": %.1f, \"step_cpu_s_min\": %.4f, \"activation_mib\": %.0f, \"device\": \"%s\", "
           "\"precision\": \"%s\", \"loss\": %.6f",
           mbt_arch_name(arch), size, batch, threads, steps, med, times[0], batch / med, flops / med / 1e9,
           cpu_min, mbt_model_activation_bytes(m) / 1048576.0, device_name, mbt_precision_name(precision),
           losses.loss_bt + losses.loss_reg);
    if (device != MBT_DEVICE_CPU)
        printf(", \"pipelined_step_s\": %.4f, \"pipelined_orig_per_s\": %.2f, \"host_queue_s_median\": %.4f",
               pipelined, batch / pipelined, host_med);
    printf("}\n");
    fflush(stdout);
    free(times);
    free(perm);
    mbt_mixbt_step_free(&step);
    mbt_plan_free(&opt_plan);
    mbt_plan_free(&in_plan);
    free(x);
    free(dout);
    mbt_model_destroy(m);
    return 0;
}

int main(int argc, char **argv) {
    const char *arch_name = "resnet18", *batches = "32,64,128,256", *device_name = "cpu";
    int size = 32, steps = 3, warmup = 1, threads = 2, feature_dim = 1024;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_step: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--arch")) arch_name = v;
        else if (!strcmp(a, "--size")) size = atoi(v);
        else if (!strcmp(a, "--batches")) batches = v;
        else if (!strcmp(a, "--steps")) steps = atoi(v);
        else if (!strcmp(a, "--warmup")) warmup = atoi(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--feature-dim")) feature_dim = atoi(v);
        else if (!strcmp(a, "--conv-impl") && !strcmp(v, "rule")) mbt_conv2d_cpu_override(NULL);
        else if (!strcmp(a, "--conv-impl") && !strcmp(v, "rule+fwd")) mbt_conv2d_cpu_rule_fwd_winograd(1);
        else if (!strcmp(a, "--conv-impl") && (!strcmp(v, "onednn") || !strcmp(v, "gemm") || !strcmp(v, "winograd") ||
                                               !strcmp(v, "winograd4"))) {
            mbt_conv_impl impl = !strcmp(v, "onednn")     ? MBT_CONV_IMPL_ONEDNN
                                 : !strcmp(v, "gemm")     ? MBT_CONV_IMPL_GEMM
                                 : !strcmp(v, "winograd") ? MBT_CONV_IMPL_WINOGRAD
                                                          : MBT_CONV_IMPL_WINOGRAD4;
            mbt_conv_choice c = {impl, impl, impl};
            mbt_conv2d_cpu_override(&c);
        }
        else if (!strcmp(a, "--device")) device_name = v;
        else if (!strcmp(a, "--precision")) {
            if (mbt_precision_parse(v, &precision) != MBT_OK) {
                fprintf(stderr, "bench_step: --precision: %s\n", mbt_error_message());
                return 2;
            }
        }
        else {
            fprintf(stderr, "bench_step: unknown flag %s\n", a);
            return 2;
        }
    }
    mbt_arch arch;
    if (mbt_arch_parse(arch_name, &arch) != MBT_OK || steps < 1 || threads < 1) {
        fprintf(stderr, "bench_step: bad arguments (%s)\n", mbt_error_message());
        return 2;
    }
    mbt_device device;
    if (mbt_device_open(device_name, "--device", &device) != MBT_OK) {
        fprintf(stderr, "bench_step: %s\n", mbt_error_message());
        return 2;
    }
    mbt_set_threads(threads);
    char list[256];
    snprintf(list, sizeof list, "%s", batches);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
        if (bench_batch(arch, size, atoi(tok), steps, warmup, feature_dim, threads, device, device_name)) return 1;
    return 0;
}
