/* Times every oneDNN implementation of each ResNet-18 (32 px) convolution and the im2col + sgemm path
 * (ops/conv2d_gemm_cpu.c), per direction (forward, backward data, backward weights), activations in
 * the backend's blocked layout: one line per candidate with the minimum wall and CPU time over
 * rounds, each round running every candidate of the layer once (so load changes hit all alike).
 * With one thread the CPU time is the number least disturbed by other jobs on the machine.
 * Usage: bench_conv_impls [--batch 64] [--threads 1] [--reps 5] [--layer N] (N: index printed) */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/runtime.h"
#include "ops/conv2d_impl_cpu.h"
#include "ops/onednn_context.h"

typedef struct {
    int c_in, hw, c_out, k, stride;
} layer;

/* distinct convolutions of the CIFAR ResNet-18 (3x3 stem at 32 px, no max pool) */
static const layer LAYERS[] = {
    {3, 32, 64, 3, 1},    {64, 32, 64, 3, 1},   {64, 32, 128, 3, 2}, {128, 16, 128, 3, 1}, {64, 32, 128, 1, 2},
    {128, 16, 256, 3, 2}, {256, 8, 256, 3, 1},  {128, 16, 256, 1, 2}, {256, 8, 512, 3, 2}, {512, 4, 512, 3, 1},
    {256, 8, 512, 1, 2},
};

static const char *DIR_NAME[3] = {"fwd", "bwd_data", "bwd_weights"};

#define OK(call)                                                                   \
    do {                                                                           \
        dnnl_status_t s_ = (call);                                                 \
        if (s_ != dnnl_success) {                                                  \
            fprintf(stderr, "bench_conv_impls: %s failed (%d)\n", #call, (int)s_); \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

/* CPU seconds used by the process. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    char impl[32];
    int dir;
    dnnl_primitive_t prim;  /* oneDNN candidate, or NULL: the gemm path or Winograd */
    int wino;               /* when prim is NULL: 1 Winograd F(2x2), 2 F(4x4), 0 gemm */
    dnnl_exec_arg_t args[3];
    double wall, cpu;       /* minima */
} cand;

static dnnl_memory_t mem_of(dnnl_engine_t eng, const dnnl_memory_desc_t *md) {
    dnnl_memory_t m;
    OK(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
    float *p;
    OK(dnnl_memory_get_data_handle(m, (void **)&p));
    size_t n = dnnl_memory_desc_get_size(md) / sizeof(float);
    for (size_t i = 0; i < n; i++) p[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    return m;
}

static int add_dnnl(cand *c, int nc, dnnl_engine_t eng, const dnnl_primitive_desc_t pd, int dir) {
    static const int args[3][3] = {{DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                                   {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST},
                                   {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST}};
    static const dnnl_query_t q[3][3] = {{dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md},
                                         {dnnl_query_diff_src_md, dnnl_query_weights_md, dnnl_query_diff_dst_md},
                                         {dnnl_query_src_md, dnnl_query_diff_weights_md, dnnl_query_diff_dst_md}};
    const char *impl = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    if (!strncmp(impl, "ref", 3) || strstr(impl, "sse41")) return nc; /* far slower than the rest */
    cand *k = &c[nc];
    snprintf(k->impl, sizeof k->impl, "%s", impl);
    k->dir = dir;
    OK(dnnl_primitive_create(&k->prim, pd));
    for (int i = 0; i < 3; i++)
        k->args[i] = (dnnl_exec_arg_t){args[dir][i], mem_of(eng, dnnl_primitive_desc_query_md(pd, q[dir][i], 0))};
    return nc + 1;
}

static void run_layer(int li, int batch, int reps, int threads, dnnl_engine_t eng, dnnl_stream_t stream) {
    const layer *L = &LAYERS[li];
    mbt_conv2d_shape s = {batch, L->c_in, L->hw, L->hw, L->c_out, L->k, L->stride, L->k / 2};
    int ho = mbt_conv2d_h_out(&s);
    dnnl_dims_t sd = {batch, L->c_in, L->hw, L->hw}, wd = {L->c_out, L->c_in, L->k, L->k}, dd = {batch, L->c_out, ho, ho},
                st = {L->stride, L->stride}, pd_ = {L->k / 2, L->k / 2};
    dnnl_memory_desc_t smd, wmd, dmd;
    dnnl_format_tag_t tag = mbt_cpu_activation_tag();
    OK(dnnl_memory_desc_init_by_tag(&smd, 4, sd, dnnl_f32, L->c_in == 3 ? dnnl_nchw : tag));
    OK(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, dnnl_f32, dnnl_format_tag_any));
    OK(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, tag));
    cand c[32];
    int nc = 0;
    dnnl_convolution_desc_t fd;
    OK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &smd, &wmd, NULL, &dmd,
                                          st, pd_, pd_));
    dnnl_primitive_desc_t hint;
    OK(dnnl_primitive_desc_create(&hint, &fd, NULL, eng, NULL));
    for (int dir = 0; dir < 3; dir++) {
        if (dir == 1 && L->c_in == 3) continue;
        dnnl_convolution_desc_t d = fd;
        if (dir == 1)
            OK(dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &smd, &wmd, &dmd, st, pd_, pd_));
        else if (dir == 2)
            OK(dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &smd, &wmd, NULL, &dmd, st, pd_,
                                                           pd_));
        dnnl_primitive_desc_iterator_t it;
        if (dnnl_primitive_desc_iterator_create(&it, &d, NULL, eng, dir ? hint : NULL) != dnnl_success) continue;
        do {
            dnnl_primitive_desc_t pd = dnnl_primitive_desc_iterator_fetch(it);
            if (nc < 28) nc = add_dnnl(c, nc, eng, pd, dir);
            dnnl_primitive_desc_destroy(pd);
        } while (dnnl_primitive_desc_iterator_next(it) == dnnl_success);
        dnnl_primitive_desc_iterator_destroy(it);
    }
    dnnl_primitive_desc_destroy(hint);
    mbt_conv2d_gemm *g = NULL;
    mbt_conv2d_wino *wgs[2] = {NULL, NULL};
    size_t nx = (size_t)batch * L->c_in * L->hw * L->hw, ny = (size_t)batch * L->c_out * ho * ho,
           nw = (size_t)L->c_out * L->c_in * L->k * L->k;
    float *x = malloc(nx * 4), *y = malloc(ny * 4), *dx = malloc(nx * 4), *w = malloc(nw * 4), *dw = calloc(nw, 4);
    for (size_t i = 0; i < nx; i++) x[i] = (float)(i % 13) * 0.1f;
    for (size_t i = 0; i < ny; i++) y[i] = (float)(i % 11) * 0.1f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)(i % 7) * 0.1f;
    if (L->c_in > 3) {
        if (mbt_conv2d_gemm_create(&g, &s) != MBT_OK || mbt_conv2d_gemm_set_weights(g, w) != MBT_OK) {
            fprintf(stderr, "bench_conv_impls: %s\n", mbt_error_message());
            exit(1);
        }
        for (int dir = 0; dir < 3; dir++, nc++) {
            memset(&c[nc], 0, sizeof c[nc]);
            snprintf(c[nc].impl, sizeof c[nc].impl, "mbt:gemm");
            c[nc].dir = dir;
        }
    }
    for (int k = 0; k < 2 && mbt_conv2d_wino_applies(&s); k++) {
        if (mbt_conv2d_wino_create(&wgs[k], &s, 2 + 2 * k, MBT_CONV_DIRS_ALL) != MBT_OK || mbt_conv2d_wino_set_weights(wgs[k], w) != MBT_OK) {
            fprintf(stderr, "bench_conv_impls: %s\n", mbt_error_message());
            exit(1);
        }
        for (int dir = 0; dir < 3; dir++, nc++) {
            memset(&c[nc], 0, sizeof c[nc]);
            snprintf(c[nc].impl, sizeof c[nc].impl, "mbt:winograd%d", 2 + 2 * k);
            c[nc].dir = dir;
            c[nc].wino = 1 + k;
        }
    }
    for (int i = 0; i < nc; i++) c[i].wall = c[i].cpu = 1e30;
    for (int r = 0; r <= reps; r++)
        for (int i = 0; i < nc; i++) {
            double t0 = mbt_now(), c0 = cpu_now();
            if (c[i].prim) {
                OK(dnnl_primitive_execute(c[i].prim, stream, 3, c[i].args));
                OK(dnnl_stream_wait(stream));
            } else {
                mbt_conv2d_wino *wg = c[i].wino ? wgs[c[i].wino - 1] : NULL;
                mbt_status st = c[i].wino       ? (c[i].dir == 0   ? mbt_conv2d_wino_forward(wg, x, y)
                                                   : c[i].dir == 1 ? mbt_conv2d_wino_backward(wg, x, y, dx, NULL)
                                                                   : mbt_conv2d_wino_backward(wg, x, y, NULL, dw))
                                : c[i].dir == 0 ? mbt_conv2d_gemm_forward(g, x, y)
                                : c[i].dir == 1 ? mbt_conv2d_gemm_backward(g, x, y, dx, NULL)
                                                : mbt_conv2d_gemm_backward(g, x, y, NULL, dw);
                if (st != MBT_OK) {
                    fprintf(stderr, "bench_conv_impls: %s\n", mbt_error_message());
                    exit(1);
                }
            }
            double t = mbt_now() - t0, cp = cpu_now() - c0;
            if (r > 0 && t < c[i].wall) c[i].wall = t; /* round 0 warms up */
            if (r > 0 && cp < c[i].cpu) c[i].cpu = cp;
        }
    double flops = 2.0 * batch * L->c_out * ho * ho * L->c_in * L->k * L->k;
    for (int dir = 0; dir < 3; dir++)
        for (int i = 0; i < nc; i++) {
            if (c[i].dir != dir) continue;
            printf("layer %2d  %3d->%3d %2dx%-2d k%d s%d  %-11s %-14s wall %8.2f ms %6.1f GFLOP/s  cpu %8.2f ms "
                   "%6.1f GFLOP/s/thread (%d thr, n=%d, min of %d)\n",
                   li, L->c_in, L->c_out, L->hw, L->hw, L->k, L->stride, DIR_NAME[dir], c[i].impl, 1e3 * c[i].wall,
                   flops / c[i].wall / 1e9, 1e3 * c[i].cpu, flops / c[i].cpu / threads / 1e9, threads, batch, reps);
        }
    fflush(stdout);
    for (int i = 0; i < nc; i++) {
        if (!c[i].prim) continue;
        for (int a = 0; a < 3; a++) dnnl_memory_destroy(c[i].args[a].memory);
        dnnl_primitive_destroy(c[i].prim);
    }
    mbt_conv2d_gemm_destroy(g);
    mbt_conv2d_wino_destroy(wgs[0]);
    mbt_conv2d_wino_destroy(wgs[1]);
    free(x); free(y); free(dx); free(w); free(dw);
}

int main(int argc, char **argv) {
    int batch = 64, threads = 1, reps = 5, only = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--layer")) only = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "bench_conv_impls: unknown flag %s\n", argv[i]);
            return 2;
        }
    }
    if (batch < 1 || threads < 1 || reps < 1) {
        fprintf(stderr, "bench_conv_impls: --batch, --threads and --reps must be positive\n");
        return 2;
    }
    mbt_set_threads(threads);
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    if (mbt_cpu_backend_get(&eng, &stream) != MBT_OK) {
        fprintf(stderr, "bench_conv_impls: %s\n", mbt_error_message());
        return 1;
    }
    int nl = (int)(sizeof LAYERS / sizeof *LAYERS);
    for (int li = 0; li < nl; li++)
        if (only < 0 || li == only) run_layer(li, batch, reps, threads, eng, stream);
    return 0;
}
